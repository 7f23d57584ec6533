"""Inference cache for every family and pattern, pure-linear ones included.

transformers' `DynamicCache` answers `get_seq_length` / `get_mask_sizes` from its first attention layer and
raises when a model has none (an all-`L` probe). `CountingCache` counts the tokens it has seen (the caller
advances `seen_tokens` after each forward) and answers from that count when there is no attention layer to ask.
A family whose model insists on a cache class of its own (MiniMax's `MiniMaxCache`) overrides
`Family.make_cache`; `make_cache(model)` picks the right one for any causal LM, pretrained ones included.
`cache_kwarg(model)` is the keyword the model's forward takes it under. A sliding-window (`S`) layer gets transformers'
`DynamicSlidingWindowLayer`, which keeps at most `model.window` tokens (models/window.py).

    cache = make_cache(model)
    model(input_ids=ids, use_cache=True, **{cache_kwarg(model): cache}); cache.seen_tokens += ids.shape[1]
"""
from __future__ import annotations

from transformers import DynamicCache

from hybrid_eval.models import window
from hybrid_eval.models.compat import cache_keyword


class CountingCache(DynamicCache):
    """`DynamicCache(config=...)` that also works when the model has no attention layer at all."""

    def __init__(self, config):
        super().__init__(config=window.cache_config(config))  # S layers: DynamicSlidingWindowLayer (models/window.py)
        self.seen_tokens = 0  # advanced by the caller after each forward

    def get_seq_length(self, *args, **kwargs) -> int:
        try:
            return super().get_seq_length(*args, **kwargs)
        except ValueError:  # no attention layer: only linear states
            return self.seen_tokens

    def get_mask_sizes(self, query, *args, **kwargs):
        try:
            return super().get_mask_sizes(query, *args, **kwargs)
        except ValueError:
            q_len = query if isinstance(query, int) else query.shape[0]
            return self.seen_tokens + q_len, 0


def make_cache(model_or_config):
    """An empty cache for `model_or_config` (a model or its config): the family's own where it has one."""
    from hybrid_eval.models import family_of_config

    config = getattr(model_or_config, "config", model_or_config)
    family = family_of_config(config)
    return family.make_cache(config) if family is not None else CountingCache(config)


def cache_kwarg(model) -> str:
    """The keyword `model`'s forward takes its cache under (models/compat.py)."""
    return cache_keyword(model.model.forward)


def cache_tensors_bytes(cache) -> int:
    """Bytes of every distinct tensor a cache object holds (keys, values, conv / recurrent / indexer states).

    Walks the object's attributes, lists and dicts, so it counts what transformers actually stores, whatever the
    cache class; the describe test compares it with `Family.cache_bytes`.
    """
    import torch

    seen_ptrs: set[tuple[int, int]] = set()
    seen_objs: set[int] = set()
    total = 0

    def walk(x):
        nonlocal total
        if isinstance(x, torch.Tensor):
            if x.numel() == 0 or x.dim() == 0:  # empty, or a 0-dim counter (transformers >= 5.25 keeps one per linear layer)
                return
            key = (x.untyped_storage().data_ptr(), x.storage_offset())
            if key not in seen_ptrs:
                seen_ptrs.add(key)
                total += x.numel() * x.element_size()
            return
        if id(x) in seen_objs or isinstance(x, (str, bytes, int, float, bool, type(None), torch.device, torch.dtype)):
            return
        seen_objs.add(id(x))
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple, set)):
            for v in x:
                walk(v)
        elif hasattr(x, "__dict__"):
            for v in vars(x).values():
                walk(v)

    walk(cache)
    return total
