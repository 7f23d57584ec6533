"""Sliding-window attention (`S`): a family's own softmax attention layer that sees only the last `window` tokens.

Mistral's and Gemma's local attention, Gated DeltaNet-H1's and MiniMax's sliding-window hybrids: query t attends keys
t - window + 1 .. t (itself included), as transformers' `sliding_window_causal_mask_function` defines it. An `S` layer
is built exactly like the family's `F` layer (same module, same parameters); only its mask and its cache differ.

How a config carries it. transformers builds its hybrid families' layers from `config.layer_types` and knows only
its own names there (Qwen3-Next builds nothing for "sliding_attention", Kimi Linear would build KDA), and the
families that read `config.sliding_window` apply it to every attention layer. So `config.layer_types` keeps the
family's attention type for an `S` layer and two keys of ours say which layers are windowed:

    config.window          the window in tokens (model.window)
    config.window_layers   the 0-based indices of the S layers

Both are saved in config.json, so a checkpoint reloads windowed wherever hybrid_eval.models is imported (the binding
below is applied then); plain transformers would load it as full attention.

The binding (models/binding.py applies it with the kernels'): each family's model forward is wrapped by
`model_forward` and its attention forward by `attention_forward`. The model wrapper builds the sliding-window mask
with transformers' `create_sliding_window_causal_mask`, sized against the first S layer of the cache, and hands it
down the decoder layers as the keyword `window_mask`; the attention wrapper of an S layer uses it in place of the
causal mask (and passes `sliding_window` for the flash-attention path), every other layer drops it. The full layers'
mask is transformers' own, untouched.

Cache. `cache_config(config)` is the config as transformers' caches must see it: S layers typed "sliding_attention"
with `sliding_window = window`, so `DynamicCache` gives them a `DynamicSlidingWindowLayer` (it keeps the last
window - 1 keys after a forward) and `StaticCache` a `StaticSlidingWindowLayer` (window slots). models/cache.py,
the families' caches and harness/decode/static_cache.py build their caches from it; `SlidingIndexedLayer` and
`StaticSlidingIndexedLayer` are the sliding-window counterparts of DeepSeek-V3.2's indexed layers (its DSA indexer
keys are windowed too).
`cached_tokens(config, context)` is what one S layer holds after `context` tokens (what `cache_bytes` counts).
"""
from __future__ import annotations

import copy
import functools
import inspect

import torch
from transformers.cache_utils import DynamicSlidingWindowLayer, StaticSlidingWindowLayer
from transformers.masking_utils import create_sliding_window_causal_mask

SLIDING = "sliding_attention"  # the name describe() and the tables give an S layer (transformers' own name)
DEFAULT_WINDOW = 64  # tokens; probes' contexts are 100-1000 tokens, so 64 makes S a real restriction there
WINDOW_MASK = "window_mask"  # the keyword the model wrapper passes the S layers' mask under


# --- config -------------------------------------------------------------------------------------------------------
def config_keys(types: list[str], window: int) -> dict:
    """The config keys of ours for per-layer types (`Family.layer_types`, S layers named SLIDING)."""
    layers = [i for i, t in enumerate(types) if t == SLIDING]
    return {"window": int(window), "window_layers": layers} if layers else {}


def transformers_types(types: list[str], attention: str) -> list[str]:
    """`types` with every S layer given the family's attention type `attention` (what transformers builds)."""
    return [attention if t == SLIDING else t for t in types]


def window_of(config) -> int | None:
    """The window of a config that has S layers, else None."""
    return getattr(config, "window", None) if getattr(config, "window_layers", None) else None


def window_layers(config) -> list[int]:
    return list(getattr(config, "window_layers", None) or []) if window_of(config) else []


def mark(config, kinds: list[str]) -> list[str]:
    """Per-layer kinds with the S layers named SLIDING (describe, tables, pattern_of)."""
    out = list(kinds)
    for i in window_layers(config):
        out[i] = SLIDING
    return out


def cached_tokens(config, context: int) -> int:
    """Tokens one S layer keeps after a forward over `context` tokens: transformers' dynamic sliding layer keeps
    the last window - 1 (the next query's window is those plus itself), so never more than the window."""
    w = window_of(config)
    return context if w is None else min(context, w - 1)


def cache_config(config):
    """`config` as transformers' caches must see it (S layers typed "sliding_attention", `sliding_window` set), or
    `config` itself when it has no S layer. A shallow copy: the model's config is never changed."""
    w = window_of(config)
    if w is None:
        return config
    view = copy.copy(config)
    types = list(config.layer_types)
    for i in window_layers(config):
        types[i] = SLIDING
    view.layer_types = types
    view.sliding_window = w
    return view


class SlidingIndexedLayer(DynamicSlidingWindowLayer):
    """`DynamicSlidingWindowLayer` with DSA indexer keys kept over the same window (DeepSeek-V3.2's S layers):
    `update_indexer` returns every key of the forward and keeps the last window - 1."""

    def __init__(self, sliding_window: int, **kwargs):
        super().__init__(sliding_window=sliding_window)
        self.indexer_keys: torch.Tensor | None = None
        self.indexer_position_ids = None
        self.is_indexer_initialized = False

    def update_indexer(self, indexer_key_states: torch.Tensor) -> torch.Tensor:
        held = self.indexer_keys
        full = indexer_key_states if held is None else torch.cat([held, indexer_key_states], dim=1)
        self.indexer_keys = full[:, -self.sliding_window + 1:]
        self.is_indexer_initialized = True
        return full


class StaticSlidingIndexedLayer(StaticSlidingWindowLayer):
    """`StaticSlidingWindowLayer` with DSA indexer keys in a buffer of the same slots, filled and rolled as its keys
    are (DeepSeek-V3.2's S layers on static caches). The attention calls `update` before the indexer calls
    `update_indexer`, so the token count already includes the new keys here."""

    def __init__(self, max_cache_len: int, sliding_window: int, **kwargs):
        super().__init__(max_cache_len=max_cache_len, sliding_window=sliding_window)
        self.indexer_keys: torch.Tensor | None = None
        self.indexer_position_ids = None
        self.is_indexer_initialized = False

    def allocate_indexer(self, like: torch.Tensor) -> torch.Tensor:
        if self.indexer_keys is None:
            self.indexer_keys = like.new_zeros(like.shape[0], self.max_cache_len, like.shape[-1])
            self.is_indexer_initialized = True
        return self.indexer_keys

    def update_indexer(self, indexer_key_states: torch.Tensor) -> torch.Tensor:
        size, n = self.max_cache_len, indexer_key_states.shape[1]
        before = self.cumulative_length_int - n
        buf = self.allocate_indexer(indexer_key_states)
        if before >= size:  # full: the oldest slot goes
            full = torch.cat([buf[:, 1:], indexer_key_states], dim=1)
            if n == 1:
                buf.copy_(full)
                return buf
        elif before + n > size:  # becoming full in this forward
            full = indexer_key_states if before == 0 else torch.cat([buf[:, :before], indexer_key_states], dim=1)
        else:
            buf[:, before:before + n] = indexer_key_states
            return buf
        buf.copy_(full[:, -size:])
        return full


# --- binding ------------------------------------------------------------------------------------------------------
class _MaskConfig:
    """The model's config with `sliding_window` = the S layers' window, for transformers' mask function only."""

    def __init__(self, config, window: int):
        self._config = config
        self.sliding_window = window

    def __getattr__(self, name):
        return getattr(self._config, name)


def model_forward(original, materialize: bool = False):
    """Wrap a family's `XModel.forward`: when the config has S layers, build their mask and pass it down as
    `window_mask`. Embeddings, the default cache (`models.make_cache`, whose S layers are sliding-window layers) and
    default positions are made here exactly as transformers' forward makes them, because the mask depends on them.
    `materialize`: always a tensor mask (DeepSeek-V3.2's indexer reads the mask), never sdpa's is_causal shortcut."""

    # the keyword the wrapped forward takes its cache under: "cache" (transformers >= 5.25) or "past_key_values"
    cache_kw = "cache" if "cache" in inspect.signature(original).parameters else "past_key_values"

    @functools.wraps(original)
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, cache=None, inputs_embeds=None,
                use_cache=None, **kwargs):
        cache = kwargs.pop("past_key_values", cache)
        window = window_of(self.config)
        if window is not None and not isinstance(attention_mask, dict):
            from hybrid_eval.models.cache import make_cache

            if inputs_embeds is None:
                inputs_embeds, input_ids = self.embed_tokens(input_ids), None
            use_cache = self.config.use_cache if use_cache is None else use_cache
            if use_cache and cache is None:
                cache = make_cache(self.config)
            if position_ids is None:
                seen = cache.get_seq_length() if cache is not None else 0
                position_ids = (torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device) + seen)[None]
            kwargs[WINDOW_MASK] = create_sliding_window_causal_mask(
                config=_MaskConfig(self.config, window), inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                cache=cache, position_ids=position_ids, layer_idx=window_layers(self.config)[0],
                allow_is_causal_skip=not materialize)
        kwargs[cache_kw] = cache
        return original(self, input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                        inputs_embeds=inputs_embeds, use_cache=use_cache, **kwargs)

    return forward


def attention_forward(original, pass_window: bool = True):
    """Wrap a family's attention `forward`: an S layer attends through `window_mask` (and, for flash attention, with
    `sliding_window`); every layer drops the keyword, so nothing below sees it. `pass_window=False` for an attention
    that already passes `sliding_window` itself (MiniMax passes `config.sliding_window`)."""

    @functools.wraps(original)
    def forward(self, *args, **kwargs):
        has_mask = WINDOW_MASK in kwargs
        mask = kwargs.pop(WINDOW_MASK, None)
        if has_mask and self.layer_idx in window_layers(self.config):
            kwargs["attention_mask"] = mask
            if pass_window:
                kwargs["sliding_window"] = self.config.window
        return original(self, *args, **kwargs)

    return forward
