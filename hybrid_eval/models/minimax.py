"""MiniMax family: lightning attention linear layers (L) and GQA softmax attention with RoPE (F), dense MLPs.

Follows transformers' `MiniMaxForCausalLM` (MiniMax-01 / MiniMax-M1, 2025), which ships the 7:1 hybrid
`LLLLLLLF`. transformers picks the mixer per layer from `config.layer_types` ("linear_attention" -> lightning,
"full_attention" -> GQA). Lightning attention is linear attention with a fixed per-head exponential decay that
depends on the layer index (DESIGN §5); q, k, v come out of one SiLU projection, unscaled and unnormalised.

Dense MLP: transformers always builds MiniMax's MoE block, so probes use one expert routed with top-1: the
softmax over one expert is exactly 1, which makes the block a plain SwiGLU MLP (plus a hidden-size router
vector that has no effect). MiniMax's forward refuses any cache that is not a `MiniMaxCache`, and that class
answers the sequence length from layer 0 even when layer 0 is linear (so it reports 0 during decoding for
`LLLF`-style patterns); `MiniMaxProbeCache` asks the first full-attention layer instead.
"""
from __future__ import annotations

from transformers import AutoConfig
from transformers.models.minimax.modeling_minimax import MiniMaxCache

from hybrid_eval.models.family import Family, Preset, register


class MiniMaxProbeCache(MiniMaxCache):
    """`MiniMaxCache` whose length comes from the first full-attention layer, or from `seen_tokens` if none."""

    def __init__(self, config):
        super().__init__()
        self.seen_tokens = 0  # advanced by the caller after each forward
        types = list(config.layer_types)
        self.full_layer = types.index("full_attention") if "full_attention" in types else None

    def get_seq_length(self, layer_idx: int = 0, *args, **kwargs) -> int:
        if self.full_layer is None:
            return self.seen_tokens
        return super().get_seq_length(self.full_layer if layer_idx == 0 else layer_idx, *args, **kwargs)

    def get_mask_sizes(self, query, layer_idx: int = 0, *args, **kwargs):
        if self.full_layer is None:
            q_len = query if isinstance(query, int) else query.shape[0]
            return self.seen_tokens + q_len, 0
        return super().get_mask_sizes(query, self.full_layer if layer_idx == 0 else layer_idx, *args, **kwargs)


@register
class MiniMax(Family):
    name = "minimax"
    model_type = "minimax"
    layer_names = {"F": "full_attention", "L": "linear_attention"}
    presets = {  # 8 layers at least, so the released 7:1 pattern LLLLLLLF has its F layer at every size
        "tiny": Preset(hidden=64, layers=8, heads=2, head_dim=32),
        "small": Preset(hidden=128, layers=8, heads=2, head_dim=64),
        "base": Preset(hidden=512, layers=8, heads=8, head_dim=64),
        "large": Preset(hidden=1024, layers=16, heads=16, head_dim=64),
    }
    mlp_multiple = 8  # the one expert runs through torch's grouped_mm, which wants 16-byte row strides

    @staticmethod
    def kv_heads(preset: Preset) -> int:
        return max(1, preset.heads // 4)  # GQA; MiniMax-Text-01 has 64 query heads over 8 KV heads

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        return AutoConfig.for_model(
            "minimax",
            **preset.trunk(vocab_size, intermediate, extra),
            num_key_value_heads=self.kv_heads(preset),
            head_dim=preset.head_dim,
            num_local_experts=1,
            num_experts_per_tok=1,
            layer_types=self.layer_types(pattern, n),
        )

    def make_cache(self, config):
        return MiniMaxProbeCache(config)

    def cache_bytes(self, config, context, dtype_bytes=2):
        full = sum(t == "full_attention" for t in config.layer_types)
        linear = len(config.layer_types) - full
        hd = config.head_dim or config.hidden_size // config.num_attention_heads
        kv = full * 2 * config.num_key_value_heads * hd * context * dtype_bytes
        # lightning: one K^T V state (H, d, d) per layer, kept in the model dtype; no short convolution
        state = linear * config.num_attention_heads * hd * hd * dtype_bytes
        return {"full": kv, "linear": state, "total": kv + state}
