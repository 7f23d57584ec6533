"""Static inference caches: attention KV preallocated to a fixed length, linear-layer states updated in place.

A CUDA graph replays the kernels it captured on the memory it captured them with, so every cache write of the
one-token decode step must land in a buffer that exists before capture and never moves (gpt-fast's and vLLM's static
KV cache; transformers' `StaticCache`). These classes are the caches `harness.decode.static_decode` decodes with:

- `StaticProbeCache`: transformers' `StaticCache(config, max_cache_len)` (StaticLayer KV, LinearAttentionLayer conv
  and recurrent states, StaticIndexedLayer for DeepSeek-V3.2's indexer keys), plus what an all-linear pattern needs:
  transformers asks the first attention layer for the sequence length and raises when there is none, so, like
  `models.cache.CountingCache`, it answers from `seen_tokens` (advanced by the caller) in that case.
- `StaticMiniMaxCache`: MiniMax's forward accepts only a `MiniMaxCache`, whose layers are dynamic and whose
  `set_linear_cache` stores a new tensor every step. This subclass of `models.minimax.MiniMaxProbeCache` keeps a
  `StaticLayer` per full-attention layer and copies each lightning state into the buffer allocated at prefill.

    cache = static_cache(model, max_len)            # max_len >= prompt width + new tokens
    model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True)   # prefill, eager
    model(input_ids=tok, attention_mask=full_mask, position_ids=pos + 1, cache=cache, ...)     # decode steps

Attention layers attend over all `max_len` slots; the causal mask (offset by the layer's `cumulative_length`
tensor) hides the slots not yet written, and the caller's 2-D mask hides left padding. `fill_from(dynamic)` copies
a dynamic cache (`models.make_cache`, as `harness.decode.conversation` keeps one) into an empty static one through the
same cache API the layers use (`update`, `update_indexer`, `update_conv_state`, `update_recurrent_state`,
`set_linear_cache`), so the kernels bound to the linear layers (models/binding.py) are never involved.
"""
from __future__ import annotations

import torch
from transformers import StaticCache
from transformers.cache_utils import LinearAttentionCacheLayerMixin, StaticLayer

from hybrid_eval.models.minimax import MiniMaxProbeCache


class StaticProbeCache(StaticCache):
    """`StaticCache` that also works when the model has no attention layer (an all-`L` probe)."""

    def __init__(self, config, max_cache_len: int):
        super().__init__(config=config, max_cache_len=max_cache_len)
        self.max_len = max_cache_len
        self.seen_tokens = 0  # advanced by the caller after each forward; used only without attention layers

    def get_seq_length(self, layer_idx: int = 0, *args, **kwargs):
        try:
            return super().get_seq_length(layer_idx, *args, **kwargs)
        except ValueError:  # only linear layers: no KV to measure (the causal mask it feeds is then unused)
            return self.seen_tokens

    def get_mask_sizes(self, query, layer_idx: int = 0, *args, **kwargs):
        try:
            return super().get_mask_sizes(query, layer_idx, *args, **kwargs)
        except ValueError:
            return self.max_len, 0


class StaticMiniMaxCache(MiniMaxProbeCache):
    """MiniMax's cache with a `StaticLayer` per layer (used by the full ones) and lightning states kept in place."""

    def __init__(self, config, max_cache_len: int):
        super().__init__(config)
        n = len(config.layer_types)
        self.max_len = max_cache_len
        # one StaticLayer per layer index (linear layers never call `update`, so theirs stay unallocated)
        self.layers = [StaticLayer(max_cache_len=max_cache_len) for _ in range(n)]
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


def static_cache(model_or_config, max_len: int):
    """An empty static cache of `max_len` tokens for a model or config (MiniMax's own kind, else StaticProbeCache)."""
    config = getattr(model_or_config, "config", model_or_config)
    if config.model_type == "minimax":
        return StaticMiniMaxCache(config, max_len)
    return StaticProbeCache(config, max_len)


def rewind(static) -> None:
    """Make `static` empty again without moving a buffer (a graph captured on it stays valid): the write positions
    go back to 0 and the linear layers forget their states, so the next forward is a prefill. Stale values past the
    write position are never read (the causal mask hides them)."""
    for layer in static.layers:
        for name in ("cumulative_length", "indexer_cumulative_length"):
            counter = getattr(layer, name, None)
            if isinstance(counter, torch.Tensor):
                counter.zero_()
        if isinstance(layer, LinearAttentionCacheLayerMixin):
            for s in layer.has_previous_state:
                layer.has_previous_state[s] = False
    if isinstance(static, StaticMiniMaxCache):
        static.has_linear_state = [False] * len(static.has_linear_state)
    static.seen_tokens = 0


def fill_from(static, dynamic, n_tokens: int, release: bool = False) -> None:
    """Copy `dynamic` (a cache holding `n_tokens` tokens per sequence) into the empty (or rewound) `static` cache.

    With `release`, each dynamic layer's tensors are dropped once copied (peak memory: the static cache plus one
    layer). Raises ValueError for a layer kind it does not know, so callers can decode on `dynamic` instead.
    """
    if n_tokens > static.max_len:
        raise ValueError(f"{n_tokens} cached tokens do not fit a static cache of {static.max_len}")
    if not all(hasattr(layer, "max_cache_len") or isinstance(layer, LinearAttentionCacheLayerMixin)
               for layer in static.layers):
        raise ValueError("not a static cache")
    if isinstance(static, StaticMiniMaxCache):
        for i, state in enumerate(getattr(dynamic, "linear_cache", [])):
            if isinstance(state, torch.Tensor):
                static.set_linear_cache(i, state)
    for i, layer in enumerate(dynamic.layers):
        linear = isinstance(layer, LinearAttentionCacheLayerMixin)
        if not linear and type(layer).__name__ not in ("DynamicLayer", "DynamicIndexedLayer"):
            raise ValueError(f"layer {i}: cache layer kind {type(layer).__name__} has no static counterpart here")
        keys = getattr(layer, "keys", None)
        if isinstance(keys, torch.Tensor) and keys.numel() > 0:
            if keys.shape[-2] != n_tokens:
                raise ValueError(f"layer {i} holds {keys.shape[-2]} keys, expected {n_tokens}")
            static.update(keys, layer.values, i)
            if release:
                layer.keys = layer.values = None
        index_keys = getattr(layer, "indexer_keys", None)
        if isinstance(index_keys, torch.Tensor) and index_keys.numel() > 0:
            static.update_indexer(index_keys, i)
            if release:
                layer.indexer_keys = None
        if linear:
            for s in range(layer.number_of_states):
                if not layer.has_previous_state[s]:
                    continue
                if layer.conv_states[s] is not None:
                    static.update_conv_state(layer.conv_states[s], i, state_idx=s)
                if layer.recurrent_states[s] is not None:
                    static.update_recurrent_state(layer.recurrent_states[s], i, state_idx=s)
    static.seen_tokens = n_tokens
