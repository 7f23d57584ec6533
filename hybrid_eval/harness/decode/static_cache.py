"""Static inference caches: attention KV preallocated to a fixed length, linear-layer states updated in place.

A CUDA graph replays the kernels it captured on the memory it captured them with, so every cache write of the
one-token decode step must land in a buffer that exists before capture and never moves (gpt-fast's and vLLM's static
KV cache; transformers' `StaticCache`). `static_cache` asks the model's family for such a cache
(`Family.make_static_cache`, e.g. MiniMax's `models.minimax.StaticMiniMaxCache`) and otherwise builds a
`StaticProbeCache`: transformers' `StaticCache(config, max_cache_len)` (StaticLayer KV, LinearAttentionLayer conv
and recurrent states, StaticIndexedLayer for DeepSeek-V3.2's indexer keys), plus what an all-linear pattern needs:
transformers asks the first attention layer for the sequence length and raises when there is none, so, like
`models.cache.CountingCache`, it answers from `seen_tokens` (advanced by the caller) in that case. A sliding-window
(`S`) layer gets its family's `static_window_layer`: a `models.window.RingWindowLayer` of min(window, L) slots
written in ring order, whose mask the model builds from the positions its slots hold (DeepSeek's keeps its indexer
keys in the same slots).

    cache = static_cache(model, max_len)            # max_len >= prompt width + new tokens
    model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True)   # prefill, eager
    model(input_ids=tok, attention_mask=full_mask, position_ids=pos + 1, cache=cache, ...)     # decode steps

Attention layers attend over all `max_len` slots; the causal mask (offset by the layer's `cumulative_length`
tensor) hides the slots not yet written, and the caller's 2-D mask hides left padding. `fill_from(dynamic)` copies
a dynamic cache (`models.make_cache`, as `harness.decode.conversation` keeps one) into an empty static one through the
same cache API the layers use (`update`, `update_indexer`, `update_conv_state`, `update_recurrent_state`; a family
cache's `copy_linear_states` for states kept outside `layers`), so the kernels bound to the linear layers
(models/binding.py) are never involved. A dynamic S layer holds only the last window - 1 of its n tokens;
`fill_from` loads them into the ring's slots for those positions and sets its count to n. The ring's writes and mask
are tensor ops on fixed buffers, so S patterns decode in CUDA graphs like the others.
"""
from __future__ import annotations

import torch
from transformers import StaticCache
from transformers.cache_utils import DynamicSlidingWindowLayer, LinearAttentionCacheLayerMixin

from hybrid_eval.models import family_of_config, window


class StaticProbeCache(StaticCache):
    """`StaticCache` that also works when the model has no attention layer (an all-`L` probe)."""

    def __init__(self, config, max_cache_len: int):
        super().__init__(config=window.cache_config(config), max_cache_len=max_cache_len)
        family = family_of_config(config)
        for i in window.window_layers(config) if family is not None else []:  # the family's static window layer
            self.layers[i] = family.static_window_layer(max_cache_len, window.window_of(config))
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


def static_cache(model_or_config, max_len: int):
    """An empty static cache of `max_len` tokens for a model or config: its family's own kind if it has one
    (`Family.make_static_cache`), else StaticProbeCache."""
    config = getattr(model_or_config, "config", model_or_config)
    family = family_of_config(config)
    own = family.make_static_cache(config, max_len) if family is not None else None
    return own if own is not None else StaticProbeCache(config, max_len)


def rewind(static) -> None:
    """Make `static` empty again without moving a buffer (a graph captured on it stays valid): the write positions
    go back to 0 and the linear layers forget their states, so the next forward is a prefill. Stale values past the
    write position are never read (the causal mask hides them)."""
    for layer in static.layers:
        for name in ("cumulative_length", "indexer_cumulative_length"):
            counter = getattr(layer, name, None)
            if isinstance(counter, torch.Tensor):
                counter.zero_()
        if isinstance(layer, window.RingWindowLayer):
            layer.forget()
        if isinstance(layer, LinearAttentionCacheLayerMixin):
            for s in layer.has_previous_state:
                layer.has_previous_state[s] = False
    forget = getattr(static, "forget_linear_states", None)  # states kept outside `layers` (MiniMax's lightning)
    if forget is not None:
        forget()
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
    copy_linear_states = getattr(static, "copy_linear_states", None)  # states kept outside `layers`
    if copy_linear_states is not None:
        copy_linear_states(dynamic)
    for i, layer in enumerate(dynamic.layers):
        linear = isinstance(layer, LinearAttentionCacheLayerMixin)
        window_layer = isinstance(layer, DynamicSlidingWindowLayer)  # transformers' and models.window's
        if not linear and not window_layer and type(layer).__name__ not in ("DynamicLayer", "DynamicIndexedLayer"):
            raise ValueError(f"layer {i}: cache layer kind {type(layer).__name__} has no static counterpart here")
        keys = getattr(layer, "keys", None)
        if isinstance(static.layers[i], window.RingWindowLayer):
            if isinstance(keys, torch.Tensor) and keys.numel() > 0:
                _fill_window(static.layers[i], layer, n_tokens, i)
            continue
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


def _fill_window(layer, dynamic, n_tokens: int, i: int) -> None:
    """Load a dynamic window layer (the last min(n, window - 1) keys of n tokens, DSA indexer keys too) into a
    `RingWindowLayer`'s slots for those positions."""
    keys = dynamic.keys
    if keys.shape[-2] != min(n_tokens, layer.window - 1) or keys.shape[-2] > layer.max_cache_len:
        raise ValueError(f"layer {i} holds {keys.shape[-2]} window keys for {n_tokens} tokens (window {layer.window})")
    slots = layer.load(keys, dynamic.values, n_tokens)
    index_keys = getattr(dynamic, "indexer_keys", None)
    if isinstance(index_keys, torch.Tensor) and hasattr(layer, "load_indexer"):
        layer.load_indexer(index_keys, slots)
