"""MiniMax family: lightning attention linear layers (L), GQA softmax attention with RoPE (F) and the same attention
over a sliding window (S, models/window.py: MiniMax's sliding-window hybrids), dense MLPs.

Follows transformers' `MiniMaxForCausalLM` (MiniMax-01 / MiniMax-M1, 2025), which ships the 7:1 hybrid
`LLLLLLLF`. transformers picks the mixer per layer from `config.layer_types` ("linear_attention" -> lightning,
"full_attention" -> GQA). Lightning attention is linear attention with a fixed per-head exponential decay that
depends on the layer index (docs/design.md §5); q, k, v come out of one SiLU projection, unscaled and unnormalised.

Dense MLP: transformers always builds MiniMax's MoE block, so probes use one expert routed with top-1: the softmax
over one expert is exactly 1, which makes the block a plain SwiGLU MLP (plus a hidden-size router vector that has no
effect: its gradient is 0). `one_expert` runs such a block as that MLP, two matrix products, instead of
transformers' expert dispatch (a softmax router, a sort, gathers, a histogram, grouped matrix products, a scatter
back: per layer, in the forward and the backward); blocks with more experts (a real MiniMax checkpoint) or router
jitter keep transformers' forward. MiniMax's forward refuses any cache that is not a `MiniMaxCache`, and that class
answers the sequence length from layer 0 even when layer 0 is linear (so it reports 0 during decoding for
`LLLF`-style patterns); `MiniMaxProbeCache` asks the first full-attention layer instead. For CUDA-graph decoding
(harness/decode/static_decode.py) `StaticMiniMaxCache` keeps the same cache in preallocated buffers: a `StaticLayer`
per full-attention layer, and each lightning state copied into the buffer allocated at prefill
(`MiniMaxCache.set_linear_cache` stores a new tensor every step, which a captured graph would never see).

Binding (models/binding.py): transformers' lightning layer runs a Python loop over 256-token blocks (one token at
a time when a state exists); `MiniMaxLightningAttention.forward` is replaced by `lightning_forward`, which makes
the same projections and calls `kernels.lightning` once over the whole segment, prefill or decode.
`MiniMaxModel.forward` and `MiniMaxAttention.forward` are wrapped so S layers attend through the sliding-window mask
(models/window.py); transformers' own `config.sliding_window` stays None, since MiniMax applies it to every layer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AutoConfig
from transformers import DynamicCache
from transformers.cache_utils import StaticLayer
from transformers.models.minimax import modeling_minimax
from transformers.models.minimax.modeling_minimax import MiniMaxCache

from hybrid_eval import kernels
from hybrid_eval.models import window as swa
from hybrid_eval.models.binding import state_float
from hybrid_eval.models.family import Family, Preset, register


def lightning_forward(self, hidden_states, position_embeddings=None, attention_mask=None, cache=None,
                      past_key_values=None, **kwargs):
    """``MiniMaxLightningAttention.forward`` over ``kernels.lightning``: same projections, norm, gate and cache
    (the K^T V state, kept in the model's dtype as transformers does), one kernel call per segment."""
    cache = cache if cache is not None else past_key_values
    batch, length, _ = hidden_states.shape
    heads, dim = self.num_attention_heads, self.head_dim
    qkv = self.act_fn(self.qkv_proj(hidden_states))
    qkv = modeling_minimax.apply_mask_to_padding_states(qkv, attention_mask)
    query, key, value = torch.split(qkv.reshape(batch, length, heads, 3 * dim), dim, dim=3)  # (B, T, H, D) each
    state = cache.get_linear_cache(self.layer_idx) if cache is not None else None
    state = state if isinstance(state, torch.Tensor) else None
    out, state = kernels.lightning(query, key, value, self.slope_rate.reshape(heads).float(), scale=1.0,
                                   initial_state=state_float(state), output_final_state=True)
    out = self.norm(out.reshape(batch, length, heads * dim))
    out = self.out_proj(F.sigmoid(self.output_gate(hidden_states)) * out)
    state = state.to(value.dtype)
    if cache is not None:
        cache.set_linear_cache(self.layer_idx, state)
    return out, state


class MiniMaxProbeCache(MiniMaxCache):
    """`MiniMaxCache` whose length comes from the first attention layer (F or S), or from `seen_tokens` if none;
    its S layers are `DynamicSlidingWindowLayer`s (transformers' MiniMaxCache makes every layer a full one)."""

    def __init__(self, config):
        super().__init__()
        self.seen_tokens = 0  # advanced by the caller after each forward
        kinds = swa.mark(config, list(config.layer_types))
        attention = [i for i, k in enumerate(kinds) if k == "full_attention"] + [
            i for i, k in enumerate(kinds) if k == swa.SLIDING]
        self.full_layer = attention[0] if attention else None  # the first F layer, else the first S layer
        self.redirect = kinds[0] == "linear_attention"  # layer 0 has no KV: answer for layer 0 from full_layer
        if swa.window_of(config) is not None:  # one layer object per index, S layers keeping the last window - 1
            self.layers = DynamicCache(config=swa.cache_config(config)).layers
            self.layer_class_to_replicate = None

    def get_linear_cache(self, layer_idx: int):
        state = self.linear_cache[layer_idx] if layer_idx < len(self.linear_cache) else None
        return state if isinstance(state, torch.Tensor) else None

    def get_seq_length(self, layer_idx: int = 0, *args, **kwargs) -> int:
        if self.full_layer is None:
            return self.seen_tokens
        layer_idx = self.full_layer if layer_idx == 0 and self.redirect else layer_idx
        return super().get_seq_length(layer_idx, *args, **kwargs)

    def get_mask_sizes(self, query, layer_idx: int = 0, *args, **kwargs):
        if self.full_layer is None:
            q_len = query if isinstance(query, int) else query.shape[0]
            return self.seen_tokens + q_len, 0
        layer_idx = self.full_layer if layer_idx == 0 and self.redirect else layer_idx
        return super().get_mask_sizes(query, layer_idx, *args, **kwargs)


class StaticMiniMaxCache(MiniMaxProbeCache):
    """MiniMax's cache with a `StaticLayer` per layer (used by the full ones) and lightning states kept in place."""

    def __init__(self, config, max_cache_len: int):
        super().__init__(config)
        n = len(config.layer_types)
        self.max_len = max_cache_len
        # one StaticLayer per layer index (linear layers never call `update`, so theirs stay unallocated), a
        # window.RingWindowLayer of min(window, max_cache_len) slots for an S layer
        windowed, w = set(swa.window_layers(config)), swa.window_of(config)
        self.layers = [swa.RingWindowLayer(max_cache_len=max_cache_len, sliding_window=w) if i in windowed
                       else StaticLayer(max_cache_len=max_cache_len) for i in range(n)]
        self.layer_class_to_replicate = None
        self.linear_cache = [None] * n  # (B, H, d, d) lightning K^T V state per linear layer, allocated at prefill
        self.has_linear_state = [False] * n

    def get_linear_cache(self, layer_idx: int):
        return self.linear_cache[layer_idx] if self.has_linear_state[layer_idx] else None

    def set_linear_cache(self, layer_idx: int, linear_cache: torch.Tensor) -> None:
        buf = self.linear_cache[layer_idx]
        if buf is None or buf.shape != linear_cache.shape or buf.device != linear_cache.device:
            self.linear_cache[layer_idx] = linear_cache.detach().clone()  # prefill: the buffer decoding writes into
        else:
            buf.copy_(linear_cache)  # decode: same address every step
        self.has_linear_state[layer_idx] = True

    def get_mask_sizes(self, query, layer_idx: int = 0, *args, **kwargs):
        if self.full_layer is None:  # all-linear: the causal mask is unused; a fixed size keeps decode shapes static
            return self.max_len, 0
        return super().get_mask_sizes(query, layer_idx, *args, **kwargs)

    def forget_linear_states(self) -> None:
        """Every lightning state counts as unset again (`harness.decode.static_cache.rewind`); buffers stay put."""
        self.has_linear_state = [False] * len(self.has_linear_state)

    def copy_linear_states(self, dynamic) -> None:
        """Copy the lightning states of `dynamic` (a `MiniMaxCache`) into this cache's buffers (`fill_from`)."""
        for i, state in enumerate(getattr(dynamic, "linear_cache", [])):
            if isinstance(state, torch.Tensor):
                self.set_linear_cache(i, state)


def one_expert(original):
    """MiniMaxSparseMoeBlock.forward: a block of one expert with top-1 routing (every probe) as the plain SwiGLU MLP it
    equals, the same outputs and expert gradients in two matrix products; `original` (transformers' forward) for
    any other block."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        experts = self.experts
        if experts.num_experts != 1 or self.top_k != 1 or (self.training and self.jitter_noise > 0):
            return original(self, hidden_states)
        gate, up = F.linear(hidden_states, experts.gate_up_proj[0]).chunk(2, dim=-1)
        return F.linear(experts.act_fn(gate) * up, experts.down_proj[0]).to(hidden_states.dtype)

    forward.original = original
    return forward


@register
class MiniMax(Family):
    name = "minimax"
    model_type = "minimax"
    layer_names = {"F": "full_attention", "L": "linear_attention", "S": swa.SLIDING}
    mixers = {"F": "MiniMaxAttention", "L": "MiniMaxLightningAttention", "S": "MiniMaxAttention"}
    released_pattern = "LLLLLLLF"
    patterns = ("F", "LLLLLLLF", "LLLF", "L", "SSSF")
    modeling = "transformers.models.minimax.modeling_minimax"
    binding = {
        "MiniMaxLightningAttention.forward": lightning_forward,
        "MiniMaxSparseMoeBlock.forward": one_expert(modeling_minimax.MiniMaxSparseMoeBlock.forward),
        "MiniMaxModel.forward": swa.model_forward(modeling_minimax.MiniMaxModel.forward),
        # MiniMax passes `sliding_window=config.sliding_window` (None) itself: the mask alone windows its S layers
        "MiniMaxAttention.forward": swa.attention_forward(modeling_minimax.MiniMaxAttention.forward, pass_window=False),
    }
    presets = {  # 8 layers at least, so the released 7:1 pattern LLLLLLLF has its F layer at every size
        "tiny": Preset(hidden=64, layers=8, heads=2, head_dim=32),
        "small": Preset(hidden=128, layers=8, heads=2, head_dim=64),
        "base": Preset(hidden=512, layers=8, heads=8, head_dim=64),
        "large": Preset(hidden=1024, layers=16, heads=16, head_dim=64),
    }
    mlp_multiple = 8  # transformers' grouped_mm expert path (a block outside one_expert) wants 16-byte row strides

    @staticmethod
    def kv_heads(preset: Preset) -> int:
        return max(1, preset.heads // 4)  # GQA; MiniMax-Text-01 has 64 query heads over 8 KV heads

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        types = self.layer_types(pattern, n)
        return AutoConfig.for_model(
            "minimax",
            **preset.trunk(vocab_size, intermediate, extra),
            num_key_value_heads=self.kv_heads(preset),
            head_dim=preset.head_dim,
            num_local_experts=1,
            num_experts_per_tok=1,
            **self.window_keys(types, extra),
        )

    def make_cache(self, config):
        return MiniMaxProbeCache(config)

    def make_static_cache(self, config, max_len):
        return StaticMiniMaxCache(config, max_len)

    def cache_bytes(self, config, context, dtype_bytes=2):
        kinds = self.layer_kinds(config)
        linear = kinds.count("linear_attention")
        hd = config.head_dim or config.hidden_size // config.num_attention_heads
        per_token = 2 * config.num_key_value_heads * hd * dtype_bytes
        full, sliding = (t * per_token for t in self.attention_counts(config, context, kinds))
        # lightning: one K^T V state (H, d, d) per layer, kept in the model dtype; no short convolution
        state = linear * config.num_attention_heads * hd * hd * dtype_bytes
        return {"full": full, "sliding": sliding, "linear": state, "total": full + sliding + state}
