"""Qwen3-Next family: Gated DeltaNet linear layers (L), gated softmax attention (F) and the same attention over a
sliding window (S, models/window.py), dense MLPs.

Follows transformers' `Qwen3NextForCausalLM` (Qwen team, 2025): Qwen3-Next ships the 3:1 hybrid `LLLF`.
Probes use dense MLPs (no MoE): `mlp_only_layers` covers every layer.

Binding (models/binding.py): the Gated DeltaNet layer calls the module-level `torch_chunk_gated_delta_rule` /
`torch_recurrent_gated_delta_rule` and `causal_conv1d_fn` / `causal_conv1d_update` (same signatures in
transformers 5.17 and 5.24); they are replaced by adapters over `kernels.gated_delta` and `kernels.short_conv`.
The layer's projections, gates, norms and cache handling stay transformers'. `Qwen3NextModel.forward` and
`Qwen3NextAttention.forward` are wrapped so S layers attend through the sliding-window mask (models/window.py).
"""
from __future__ import annotations

import math

import torch
from transformers import AutoConfig

from transformers.models.qwen3_next import modeling_qwen3_next as qwen3_next_modeling

from hybrid_eval import kernels
from hybrid_eval.models import window as swa
from hybrid_eval.models.binding import causal_conv1d_fn, causal_conv1d_update, delta_rule
from hybrid_eval.models.family import Family, PRESETS, Preset, register

gated_delta_rule = delta_rule(kernels.gated_delta)  # chunked (prefill) and recurrent (decode) alike


@register
class Qwen3Next(Family):
    name = "qwen3_next"
    model_type = "qwen3_next"
    layer_names = {"F": "full_attention", "L": "linear_attention", "S": swa.SLIDING}
    mixers = {"F": "Qwen3NextAttention", "L": "Qwen3NextGatedDeltaNet", "S": "Qwen3NextAttention"}
    released_pattern = "LLLF"
    patterns = ("F", "LLLF", "L", "SSSF", "LS")
    presets = PRESETS
    modeling = "transformers.models.qwen3_next.modeling_qwen3_next"
    binding = {
        "torch_chunk_gated_delta_rule": gated_delta_rule,
        "torch_recurrent_gated_delta_rule": gated_delta_rule,
        "causal_conv1d_fn": causal_conv1d_fn,
        "causal_conv1d_update": causal_conv1d_update,
        "Qwen3NextModel.forward": swa.model_forward(qwen3_next_modeling.Qwen3NextModel.forward),
        "Qwen3NextAttention.forward": swa.attention_forward(qwen3_next_modeling.Qwen3NextAttention.forward),
    }
    conv_kernel = 4
    dt_range = (1e-3, 1e-1)  # Mamba2 / fla GatedDeltaNet: dt ~ logU(dt_min, dt_max)

    def init_probe(self, model, generator):
        """fla's / Mamba2's Gated DeltaNet init: dt_bias = softplus^-1(dt), dt ~ logU(1e-3, 1e-1).

        transformers sets dt_bias = 1, so with A ~ U(0.01, 16) the initial per-token decay
        e^{-A softplus(dt_bias)} is about e^-10 on average: the state is wiped every token and a pure-L probe
        sits at chance on MQAR (reports/probe-training.md). A_log keeps transformers' (= fla's) log U(0, 16).
        """
        lo, hi = (math.log(x) for x in self.dt_range)
        for module in model.modules():
            if hasattr(module, "dt_bias") and hasattr(module, "A_log"):
                u = torch.rand(module.dt_bias.shape, generator=generator)
                dt = torch.exp(u * (hi - lo) + lo).clamp(min=1e-4)
                with torch.no_grad():
                    module.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        types = self.layer_types(pattern, n)
        return AutoConfig.for_model(
            "qwen3_next",
            **preset.trunk(vocab_size, intermediate, extra),
            num_key_value_heads=preset.heads,
            head_dim=preset.head_dim,
            linear_num_key_heads=preset.heads,
            linear_num_value_heads=preset.heads,
            linear_key_head_dim=preset.head_dim,
            linear_value_head_dim=preset.head_dim,
            linear_conv_kernel_dim=self.conv_kernel,
            num_experts=0,
            decoder_sparse_step=1,
            mlp_only_layers=list(range(n)),
            **self.window_keys(types, extra),
        )

    def cache_bytes(self, config, context, dtype_bytes=2):
        kinds = self.layer_kinds(config)
        linear = kinds.count("linear_attention")
        per_token = 2 * config.num_key_value_heads * config.head_dim * dtype_bytes
        full, sliding = (t * per_token for t in self.attention_counts(config, context, kinds))
        hv, dk, dv = config.linear_num_value_heads, config.linear_key_head_dim, config.linear_value_head_dim
        conv_dim = 2 * config.linear_num_key_heads * dk + hv * dv
        # transformers keeps the recurrent state in float32 whatever the model dtype; the conv state in model dtype,
        # `linear_conv_kernel_dim` columns (its cache layer keeps the whole kernel window, not kernel - 1)
        state = linear * (hv * dk * dv * 4 + conv_dim * config.linear_conv_kernel_dim * dtype_bytes)
        return {"full": full, "sliding": sliding, "linear": state, "total": full + sliding + state}
