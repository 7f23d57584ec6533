"""Kimi Linear family: Kimi Delta Attention linear layers (L) and MLA without RoPE (F), dense MLPs.

Follows transformers' `KimiLinearForCausalLM` (Moonshot AI, "Kimi Linear", 2025), which ships the 3:1 hybrid
`LLLF`. transformers picks the mixer per layer from `config.layer_types` ("linear_attention" -> KDA,
"full_attention" -> MLA); a released checkpoint's `linear_attn_config.kda_layers / full_attn_layers` are 1-based
layer numbers that the config converts to `layer_types`, so our 0-based pattern maps straight onto
`layer_types` (LLLF on 8 layers = full layers 4 and 8 in the checkpoint's numbering).

MLA keeps the released ratios (Kimi-Linear-48B: kv_lora_rank 512 = 4 x v_head_dim, qk_rope_head_dim = v/2, no
q LoRA) capped at half the width; transformers' Kimi MLA applies no rotary embedding at all, so the
"rope" slice of the key is just a shared key part (NoPE). KDA runs transformers' own torch chunked/recurrent
code on CPU (its `chunk_kda` / `fused_recurrent_kda` fall back to torch when flash-linear-attention is absent).
Probes use dense MLPs: `mlp_layer_types` is "dense" everywhere, so no expert or router is built.
"""
from __future__ import annotations

from transformers import AutoConfig

from hybrid_eval.models.family import Family, PRESETS, Preset, register


@register
class KimiLinear(Family):
    name = "kimi_linear"
    model_type = "kimi_linear"
    layer_names = {"F": "full_attention", "L": "linear_attention"}
    presets = PRESETS
    conv_kernel = 4

    @staticmethod
    def mla_dims(preset: Preset) -> dict:
        hd = preset.head_dim
        return {"kv_lora_rank": min(4 * hd, preset.hidden // 2), "qk_rope_head_dim": hd // 2,
                "qk_nope_head_dim": hd, "v_head_dim": hd}

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        return AutoConfig.for_model(
            "kimi_linear",
            **preset.trunk(vocab_size, intermediate, extra),
            num_key_value_heads=preset.heads,
            q_lora_rank=None,
            **self.mla_dims(preset),
            linear_num_heads=preset.heads,
            linear_head_dim=preset.head_dim,
            linear_conv_kernel_dim=self.conv_kernel,
            layer_types=self.layer_types(pattern, n),
            mlp_layer_types=["dense"] * n,
        )

    def cache_bytes(self, config, context, dtype_bytes=2):
        full = sum(t == "full_attention" for t in config.layer_types)
        linear = len(config.layer_types) - full
        # MLA caches the compressed latent (kv_lora_rank) and the shared key slice (qk_rope_head_dim), one "head"
        kv = full * (config.kv_lora_rank + config.qk_rope_head_dim) * context * dtype_bytes
        h, d = config.linear_num_heads, config.linear_head_dim
        # KDA: recurrent state (H, dk, dv) kept in float32 (transformers casts it); conv state over q, k and v,
        # `linear_conv_kernel_dim` columns (not kernel - 1) in model dtype
        state = linear * (h * d * d * 4 + 3 * h * d * config.linear_conv_kernel_dim * dtype_bytes)
        return {"full": kv, "linear": state, "total": kv + state}
