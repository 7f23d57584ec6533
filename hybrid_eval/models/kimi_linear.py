"""Kimi Linear family: Kimi Delta Attention linear layers (L), MLA without RoPE (F) and the same MLA over a sliding
window (S, models/window.py), dense MLPs; `model.rope=true` gives every MLA layer rotary position embeddings.

Follows transformers' `KimiLinearForCausalLM` (Moonshot AI, "Kimi Linear", 2025), which ships the 3:1 hybrid
`LLLF`. transformers picks the mixer per layer from `config.layer_types` ("linear_attention" -> KDA,
"full_attention" -> MLA); a released checkpoint's `linear_attn_config.kda_layers / full_attn_layers` are 1-based
layer numbers that the config converts to `layer_types`, so our 0-based pattern maps straight onto
`layer_types` (LLLF on 8 layers = full layers 4 and 8 in the checkpoint's numbering).

MLA keeps the released ratios (Kimi-Linear-48B: kv_lora_rank 512 = 4 x v_head_dim, qk_rope_head_dim = v/2, no
q LoRA) capped at half the width; transformers' Kimi MLA applies no rotary embedding at all, so the
"rope" slice of the key is just a shared key part (NoPE): positions reach the model only through the KDA layers,
and an all-MLA `F` probe has none at all.

`model.rope` (default false: the released NoPE MLA, transformers' forward untouched). With true, the MLA layers (F
and S) rotate the rope slice of each query head (the last `qk_rope_head_dim` channels of the query, which meet the
shared key slice) and the shared key slice itself, as DeepSeek-V3's MLA does (transformers' `apply_rotary_pos_emb`,
the rotate-half layout, base `MLA_ROPE_THETA`), before the key slice is cached, at the `position_ids` the model
passes every layer (the cache length onwards when it passes none). So `F` with rope=true is an all-MLA baseline with
positions. The config records it as `mla_rope_theta` (saved in config.json, so a checkpoint reloads with RoPE
wherever hybrid_eval.models is imported; plain transformers would load it as NoPE).

transformers' own KDA code (`chunk_kda` / `fused_recurrent_kda`, torch when flash-linear-attention is absent) is
replaced by `kernels.kda` (binding below). Probes use dense MLPs: `mlp_layer_types` is "dense" everywhere, so no
expert or router is built.

Binding (models/binding.py): the KDA layer calls the module-level `chunk_kimi_delta_attention` /
`recurrent_kimi_delta_attention` and `causal_conv1d_fn` / `causal_conv1d_update`; they are replaced by adapters
over `kernels.kda` and `kernels.short_conv`. One numerical fix, not a kernel: `KimiLinearForgetGate.forward`
computes its softplus as `where(g > 20, g, log(1 + exp(g)))`; once a pre-activation passes ~88.7, `exp`
overflows in float32 and the discarded branch's gradient is `0 * inf = NaN`, which gradient clipping spreads to
every weight. Its replacement computes the same value with `F.softplus` (reports/probe-training.md §10).
`KimiLinearModel.forward` and `KimiLinearAttention.forward` are wrapped so S layers attend through the
sliding-window mask (models/window.py); inside that wrapper, `mla_forward` applies RoPE when the config asks for it.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from transformers import AutoConfig
from transformers.models.deepseek_v3.modeling_deepseek_v3 import apply_rotary_pos_emb
from transformers.models.kimi_linear import modeling_kimi_linear as kimi_modeling

from hybrid_eval import kernels
from hybrid_eval.models import window as swa
from hybrid_eval.models.binding import causal_conv1d_fn, causal_conv1d_update, delta_rule
from hybrid_eval.models.compat import cache_keyword
from hybrid_eval.models.family import Family, ModelConfigError, PRESETS, Preset, register

kimi_delta_attention = delta_rule(kernels.kda)

# RoPE base of `model.rope=true`: DeepSeek-V2/V3's MLA uses rope_theta 10000 (so do Llama 1/2). The slowest channel
# pair turns once in 2 pi 10000^((d-2)/d) tokens, d = qk_rope_head_dim: 35k at d = 32 (small and up), 20k at tiny's 16,
# past the probes' contexts (100-1000 tokens, 8192 at most)
MLA_ROPE_THETA = 10000.0
ROPE_KEY = "mla_rope_theta"  # the config key (config.json) that turns RoPE on; absent: NoPE, as released


def rotary_cos_sin(position_ids: torch.Tensor, dim: int, theta: float, dtype: torch.dtype):
    """(cos, sin), each (B, T, dim), of transformers' default rotary embedding (`LlamaRotaryEmbedding`, rotate-half
    layout) at `position_ids` (B, T): computed in float32, then cast to `dtype` as transformers does."""
    exponent = torch.arange(0, dim, 2, dtype=torch.int64, device=position_ids.device).float() / dim
    inv_freq = 1.0 / (theta ** exponent)
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def mla_forward(original):
    """Wrap `KimiLinearAttention.forward`: a config without `mla_rope_theta` (model.rope=false) runs `original`, i.e.
    transformers' NoPE MLA, unchanged. With it, the same computation (DeepSeek-V3's MLA forward, which Kimi's copies
    minus the rotation) with RoPE on the query's rope slice and on the shared key slice before the cache update.
    Positions: `position_ids` as the decoder layer passes it (left padding accounted for by the caller), else this
    layer's cache length onwards."""
    latest = cache_keyword(original) == "cache"  # transformers >= 5.25 hands the attention kwargs to cache.update

    @functools.wraps(original)
    def forward(self, *args, **kwargs):
        theta = getattr(self.config, ROPE_KEY, None)
        if theta is None:
            return original(self, *args, **kwargs)
        # transformers' signature: (hidden_states, attention_mask, cache / past_key_values (5.17), **kwargs)
        named = dict(zip(("hidden_states", "attention_mask", "cache"), args))
        hidden_states = named.get("hidden_states", kwargs.pop("hidden_states", None))
        attention_mask = named.get("attention_mask", kwargs.pop("attention_mask", None))
        cache = named.get("cache", kwargs.pop("cache", None))
        held = kwargs.pop("past_key_values", None)
        cache = held if cache is None else cache
        batch_size, seq_length = hidden_states.shape[:-1]
        if self.q_lora_rank is None:
            q_states = self.q_proj(hidden_states)
        else:
            q_states = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(hidden_states)))
        q_states = q_states.view(batch_size, seq_length, -1, self.qk_head_dim).transpose(1, 2)
        # a query head is [nope | rope]: expand_kv builds each key head as [k_nope | shared k_rot] in that order
        q_pass, q_rot = torch.split(q_states, [self.qk_nope_head_dim, self.qk_rope_head_dim], dim=-1)

        compressed_kv = self.kv_a_proj_with_mqa(hidden_states)
        kv_nope, k_rot = torch.split(compressed_kv, [self.kv_lora_rank, self.qk_rope_head_dim], dim=-1)
        kv_nope = self.kv_a_layernorm(kv_nope).view(batch_size, 1, seq_length, self.kv_lora_rank)
        k_rot = k_rot.view(batch_size, 1, seq_length, self.qk_rope_head_dim)

        positions = kwargs.get("position_ids")
        if positions is None:
            seen = cache.get_seq_length(self.layer_idx) if cache is not None else 0
            positions = torch.arange(seq_length, device=hidden_states.device) + seen
        if positions.dim() == 1:
            positions = positions[None]
        cos, sin = rotary_cos_sin(positions, self.qk_rope_head_dim, float(theta), q_rot.dtype)
        q_rot, k_rot = apply_rotary_pos_emb(q_rot, k_rot, cos, sin)

        if cache is not None:  # the rotated key slice is what the cache holds
            extra = {"kwargs": kwargs} if latest else {}
            kv_nope, k_rot = cache.update(kv_nope, k_rot, self.layer_idx, **extra)
        query_states = torch.cat((q_pass, q_rot), dim=-1)
        key_states, value_states = self.expand_kv(kv_nope, k_rot)

        attention_interface = kimi_modeling.ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, kimi_modeling.eager_attention_forward)
        attn_output, attn_weights = attention_interface(
            self, query_states, key_states, value_states, attention_mask,
            dropout=0.0 if not self.training else self.attention_dropout, scaling=self.scaling, **kwargs)
        attn_output = attn_output.reshape(batch_size, seq_length, -1).contiguous()
        return self.o_proj(attn_output), attn_weights

    return forward


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
    knobs = {**Family.knobs, "rope": False}  # model.rope: RoPE on the MLA layers (default: NoPE, as released)
    modeling = "transformers.models.kimi_linear.modeling_kimi_linear"
    binding = {
        "chunk_kimi_delta_attention": kimi_delta_attention,
        "recurrent_kimi_delta_attention": kimi_recurrent,
        "causal_conv1d_fn": causal_conv1d_fn,
        "causal_conv1d_update": causal_conv1d_update,
        "KimiLinearForgetGate.forward": kimi_forget_gate,
        "KimiLinearModel.forward": swa.model_forward(kimi_modeling.KimiLinearModel.forward),
        "KimiLinearAttention.forward": swa.attention_forward(mla_forward(kimi_modeling.KimiLinearAttention.forward)),
    }
    conv_kernel = 4

    def check_knobs(self, **knobs):
        super().check_knobs(**knobs)
        r = knobs.get("rope", self.knobs["rope"])
        if not isinstance(r, bool):
            raise ModelConfigError(f"model.rope={r!r} is not valid; accepted: true or false (rotary position "
                                   f"embeddings on the MLA layers; default false, the released NoPE MLA)")

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
            **({ROPE_KEY: MLA_ROPE_THETA} if extra.get("rope", False) else {}),  # model.rope=false: no key at all
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
