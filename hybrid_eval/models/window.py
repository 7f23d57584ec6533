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
window - 1 keys after a forward). models/cache.py and the families' caches build their dynamic caches from it;
`SlidingIndexedLayer` is the sliding-window counterpart of DeepSeek-V3.2's indexed layer (its DSA indexer keys are
windowed too). Static caches (CUDA-graph decoding) hold an S layer in a `RingWindowLayer` of window slots written
in ring order, whose mask `ring_mask` builds from the positions the slots hold, all in tensor ops.
`cached_tokens(config, context)` is what one S layer holds after `context` tokens (what `cache_bytes` counts).
"""
from __future__ import annotations

import copy
import functools

import torch
from transformers.cache_utils import DynamicSlidingWindowLayer, StaticLayer
from transformers.masking_utils import create_sliding_window_causal_mask

from hybrid_eval.models.compat import cache_keyword

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


class RingWindowLayer(StaticLayer):
    """A static cache layer of `min(window, max_len)` slots used as a ring: token p goes to slot p mod size, and
    `slot_pos` records which absolute position each slot holds (-1: empty). Every write and every read is a tensor op
    at a fixed address, with no branch on the token count, so a decode step over it can be captured in a CUDA graph
    and replayed past the window (transformers' `StaticSlidingWindowLayer` decides in Python whether to fill or roll).
    The S layers' mask is built from `slot_pos` (`ring_mask`), since the slots are not in token order.

    A forward writes at most as many tokens as fit without overwriting keys its own queries still need: one token
    per decode step, or a prefill that does not wrap (static decoding prefills on the dynamic cache and copies it in).
    """

    is_sliding = True

    def __init__(self, max_cache_len: int, sliding_window: int, **kwargs):
        super().__init__(max_cache_len=min(max_cache_len, sliding_window))
        self.window = sliding_window
        self.slot_pos: torch.Tensor | None = None

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.slot_pos = torch.full((self.max_cache_len,), -1, dtype=torch.long, device=self.device)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n = key_states.shape[-2]
        if n > 1 and int(self.cumulative_length) + n > self.max_cache_len:  # eager only: a decode step has n = 1
            raise ValueError(f"a ring window layer takes one token per forward once its {self.max_cache_len} slots "
                             f"fill; prefill on a dynamic cache and copy it in (harness/decode/static_cache.fill_from)")
        pos = torch.arange(n, device=self.device) + self.cumulative_length
        slots = pos % self.max_cache_len
        self.keys.index_copy_(2, slots, key_states)
        self.values.index_copy_(2, slots, value_states)
        self.slot_pos.index_copy_(0, slots, pos)
        self.cumulative_length.add_(n)
        return self.keys, self.values

    def load(self, keys: torch.Tensor, values: torch.Tensor, n_tokens: int) -> torch.Tensor:
        """Hold the last keys of an n-token sequence (`keys` (B, H, m, D), m <= size: tokens n - m .. n - 1), as if
        they had been written one by one; returns the slots written."""
        if not self.is_initialized:
            self.lazy_initialization(keys, values)
        m = keys.shape[-2]
        pos = torch.arange(n_tokens - m, n_tokens, device=self.device)
        slots = pos % self.max_cache_len
        self.slot_pos.fill_(-1)
        self.keys.index_copy_(2, slots, keys.to(self.keys.dtype))
        self.values.index_copy_(2, slots, values.to(self.values.dtype))
        self.slot_pos.index_copy_(0, slots, pos)
        self.cumulative_length.fill_(n_tokens)
        return slots

    def forget(self) -> None:
        """Empty again without moving a buffer (harness/decode/static_cache.rewind)."""
        self.cumulative_length.zero_()
        if self.slot_pos is not None:
            self.slot_pos.fill_(-1)

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.max_cache_len, 0


class RingWindowIndexedLayer(RingWindowLayer):
    """`RingWindowLayer` with DSA indexer keys in the same slots (DeepSeek-V3.2's S layers on static caches). The
    attention calls `update` before its indexer calls `update_indexer`, so the count already includes the new keys."""

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
        n = indexer_key_states.shape[1]
        slots = (torch.arange(n, device=self.device) + self.cumulative_length - n) % self.max_cache_len
        return self.allocate_indexer(indexer_key_states).index_copy_(1, slots, indexer_key_states)

    def load_indexer(self, indexer_keys: torch.Tensor, slots: torch.Tensor) -> None:
        self.allocate_indexer(indexer_keys).index_copy_(1, slots, indexer_keys.to(self.indexer_keys.dtype))


def ring_mask(layer: RingWindowLayer, config, batch: int, q_len: int, attention_mask, dtype) -> torch.Tensor:
    """(B, 1, q, slots) mask of a `RingWindowLayer` for the next `q_len` tokens, as the slots will be after this
    forward's update: slot s is seen by the query at position p iff p - window < slot_pos[s] <= p and the 2-D
    `attention_mask` (B, positions; left padding 0) has a 1 there. Boolean for sdpa, additive for eager."""
    device = layer.keys.device
    new = torch.arange(q_len, device=device) + layer.cumulative_length  # positions of this forward's tokens
    pos = layer.slot_pos.index_copy(0, new % layer.max_cache_len, new)  # (slots,) after the update
    seen = (pos[None, :] >= 0) & (pos[None, :] <= new[:, None]) & (pos[None, :] > new[:, None] - layer.window)
    seen = seen[None].expand(batch, -1, -1)
    if attention_mask is not None:
        padding = attention_mask.bool().gather(1, pos.clamp(min=0)[None].expand(batch, -1))  # (B, slots)
        seen = seen & padding[:, None, :]
    seen = seen[:, None]
    if config._attn_implementation == "eager":
        return torch.zeros(seen.shape, dtype=dtype, device=device).masked_fill(~seen, torch.finfo(dtype).min)
    return seen


# --- binding ------------------------------------------------------------------------------------------------------
class _MaskConfig:
    """The model's config with `sliding_window` = the S layers' window, for transformers' mask function only."""

    def __init__(self, config, window: int):
        self._config = config
        self.sliding_window = window

    def __getattr__(self, name):
        return getattr(self._config, name)


MASK_CACHE_KW = cache_keyword(create_sliding_window_causal_mask)  # its cache keyword differs across transformers


def unmask_empty_rows(mask):
    """`mask` with every query row that sees no key opened to all keys (a 4-D boolean or additive mask; anything
    else unchanged). Training batches are right-padded: a padding query further than the window from its row's last
    real token sees only padding, which the padding mask hides, so its row is empty (under full attention a padding
    query still sees the real tokens before it). torch 2.11's cuDNN attention, sdpa's default on H100/H200, returns NaN
    query gradients when a row's logsumexp is -inf and the padded width is 64 modulo 128 (pytorch/pytorch issue
    196678): the study's first SSSSSSSF runs on an H100 stopped with NaN at steps 10, 87 and 198, and anomaly mode
    named ScaledDotProductCudnnAttentionBackward0 (reports/minimax-gap/h100-2026-12-06c). An empty row's output is a
    padding position's: nothing is scored there and no real query reads it (the padding mask hides it as a key), so
    opening it changes no real token's value or gradient, as transformers' `_unmask_unattended` did for older torch."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 4:
        return mask
    if mask.dtype == torch.bool:
        return mask | ~mask.any(dim=-1, keepdim=True)
    empty = (mask <= torch.finfo(mask.dtype).min).all(dim=-1, keepdim=True)
    return mask.masked_fill(empty, 0.0)


def model_forward(original, materialize: bool = False):
    """Wrap a family's `XModel.forward`: when the config has S layers, build their mask and pass it down as
    `window_mask`. Embeddings, the default cache (`models.make_cache`, whose S layers are sliding-window layers) and
    default positions are made here exactly as transformers' forward makes them, because the mask depends on them.
    `materialize`: always a tensor mask (DeepSeek-V3.2's indexer reads the mask), never sdpa's is_causal shortcut."""

    cache_kw = cache_keyword(original)  # the keyword the wrapped forward takes its cache under

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
            first = window_layers(self.config)[0]
            layer = cache.layers[first] if cache is not None and len(getattr(cache, "layers", [])) > first else None
            if isinstance(layer, RingWindowLayer):  # static caches: slots in ring order
                mask = ring_mask(layer, self.config, *inputs_embeds.shape[:2], attention_mask, inputs_embeds.dtype)
            else:
                mask = create_sliding_window_causal_mask(
                    config=_MaskConfig(self.config, window), inputs_embeds=inputs_embeds,
                    attention_mask=attention_mask, **{MASK_CACHE_KW: cache}, position_ids=position_ids, layer_idx=first,
                    allow_is_causal_skip=not materialize)
            kwargs[WINDOW_MASK] = unmask_empty_rows(mask)
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
