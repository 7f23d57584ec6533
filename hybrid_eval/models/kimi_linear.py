"""Kimi Linear family: Kimi Delta Attention linear layers (L), MLA without RoPE (F) and the same MLA over a sliding
window (S, models/window.py), dense MLPs.

Follows transformers' `KimiLinearForCausalLM` (Moonshot AI, "Kimi Linear", 2025), which ships the 3:1 hybrid
`LLLF`. transformers picks the mixer per layer from `config.layer_types` ("linear_attention" -> KDA,
"full_attention" -> MLA); a released checkpoint's `linear_attn_config.kda_layers / full_attn_layers` are 1-based
layer numbers that the config converts to `layer_types`, so our 0-based pattern maps straight onto
`layer_types` (LLLF on 8 layers = full layers 4 and 8 in the checkpoint's numbering).

MLA keeps the released ratios (Kimi-Linear-48B: kv_lora_rank 512 = 4 x v_head_dim, qk_rope_head_dim = v/2, no
q LoRA) capped at half the width; transformers' Kimi MLA applies no rotary embedding at all, so the
"rope" slice of the key is just a shared key part (NoPE). transformers' own KDA code (`chunk_kda` /
`fused_recurrent_kda`, torch when flash-linear-attention is absent) is replaced by `kernels.kda` (binding below).
Probes use dense MLPs: `mlp_layer_types` is "dense" everywhere, so no expert or router is built.

Binding (models/binding.py): the KDA layer calls the module-level `chunk_kimi_delta_attention` /
`recurrent_kimi_delta_attention` and `causal_conv1d_fn` / `causal_conv1d_update`; they are replaced by adapters
over `kernels.kda` and `kernels.short_conv`. One numerical fix, not a kernel: `KimiLinearForgetGate.forward`
computes its softplus as `where(g > 20, g, log(1 + exp(g)))`; once a pre-activation passes ~88.7, `exp`
overflows in float32 and the discarded branch's gradient is `0 * inf = NaN`, which gradient clipping spreads to
every weight. Its replacement computes the same value with `F.softplus` (reports/probe-training.md §10).
`KimiLinearModel.forward` and `KimiLinearAttention.forward` are wrapped so S layers attend through the
sliding-window mask (models/window.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AutoConfig
from transformers.models.kimi_linear import modeling_kimi_linear as kimi_modeling

from hybrid_eval import kernels
from hybrid_eval.models import window as swa
from hybrid_eval.models.binding import causal_conv1d_fn, causal_conv1d_update, delta_rule
from hybrid_eval.models.family import Family, PRESETS, Preset, register

kimi_delta_attention = delta_rule(kernels.kda)


def kimi_recurrent(query, key, value, g, beta, initial_state, output_final_state, use_qk_l2norm_in_kernel=False,
                   **kwargs):
    """``recurrent_kimi_delta_attention`` takes initial_state and output_final_state positionally."""
    return kimi_delta_attention(query, key, value, g, beta, initial_state=initial_state,
                                output_final_state=output_final_state,
                                use_qk_l2norm_in_kernel=use_qk_l2norm_in_kernel, **kwargs)


def kimi_forget_gate(self, hidden_states: torch.Tensor) -> torch.Tensor:
    """``KimiLinearForgetGate.forward``: the per-channel log decay ``-exp(A_log) * softplus(f_b(f_a(x)) + dt_bias)``,
    as transformers computes it but with a finite gradient for every pre-activation (``F.softplus`` is linear past
    its threshold, 20, as transformers' ``where`` is, without evaluating ``exp`` there)."""
    shape = (*hidden_states.shape[:2], -1, self.head_dim)
    g = (self.f_b_proj(self.f_a_proj(hidden_states)).float() + self.dt_bias.float().view(1, 1, -1)).view(shape)
    return -self.A_log.float().exp() * F.softplus(g, threshold=20.0)


@register
class KimiLinear(Family):
    name = "kimi_linear"
    model_type = "kimi_linear"
    layer_names = {"F": "full_attention", "L": "linear_attention", "S": swa.SLIDING}
    mixers = {"F": "KimiLinearAttention", "L": "KimiLinearDeltaAttention", "S": "KimiLinearAttention"}
    released_pattern = "LLLF"
    patterns = ("F", "LLLF", "L", "SSSF")
    presets = PRESETS
    modeling = "transformers.models.kimi_linear.modeling_kimi_linear"
    binding = {
        "chunk_kimi_delta_attention": kimi_delta_attention,
        "recurrent_kimi_delta_attention": kimi_recurrent,
        "causal_conv1d_fn": causal_conv1d_fn,
        "causal_conv1d_update": causal_conv1d_update,
        "KimiLinearForgetGate.forward": kimi_forget_gate,
        "KimiLinearModel.forward": swa.model_forward(kimi_modeling.KimiLinearModel.forward),
        "KimiLinearAttention.forward": swa.attention_forward(kimi_modeling.KimiLinearAttention.forward),
    }
    conv_kernel = 4

    @staticmethod
    def mla_dims(preset: Preset) -> dict:
        hd = preset.head_dim
        return {"kv_lora_rank": min(4 * hd, preset.hidden // 2), "qk_rope_head_dim": hd // 2,
                "qk_nope_head_dim": hd, "v_head_dim": hd}

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        types = self.layer_types(pattern, n)
        return AutoConfig.for_model(
            "kimi_linear",
            **preset.trunk(vocab_size, intermediate, extra),
            num_key_value_heads=preset.heads,
            q_lora_rank=None,
            **self.mla_dims(preset),
            linear_num_heads=preset.heads,
            linear_head_dim=preset.head_dim,
            linear_conv_kernel_dim=self.conv_kernel,
            mlp_layer_types=["dense"] * n,
            **self.window_keys(types, extra),
        )

    def cache_bytes(self, config, context, dtype_bytes=2):
        kinds = self.layer_kinds(config)
        linear = kinds.count("linear_attention")
        # MLA caches the compressed latent (kv_lora_rank) and the shared key slice (qk_rope_head_dim), one "head"
        per_token = (config.kv_lora_rank + config.qk_rope_head_dim) * dtype_bytes
        full, sliding = (t * per_token for t in self.attention_counts(config, context, kinds))
        h, d = config.linear_num_heads, config.linear_head_dim
        # KDA: recurrent state (H, dk, dv) kept in float32 (transformers casts it); conv state over q, k and v,
        # `linear_conv_kernel_dim` columns (not kernel - 1) in model dtype
        state = linear * (h * d * d * 4 + 3 * h * d * config.linear_conv_kernel_dim * dtype_bytes)
        return {"full": full, "sliding": sliding, "linear": state, "total": full + sliding + state}
