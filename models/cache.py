"""Inference cache for every pattern, pure-linear ones included.

transformers' `DynamicCache` answers `get_seq_length` / `get_mask_sizes` from its first attention layer and
raises when a model has none (an all-`L` probe). `ProbeCache` counts the tokens it has seen and answers from
that count when there is no attention layer to ask.
"""
from __future__ import annotations

from transformers import DynamicCache


class ProbeCache(DynamicCache):
    def __init__(self, config):
        super().__init__(config=config)
        self.seen_tokens = 0  # advanced by the caller after each forward

    def get_seq_length(self, *args, **kwargs) -> int:
        try:
            return super().get_seq_length(*args, **kwargs)
        except ValueError:
            return self.seen_tokens

    def get_mask_sizes(self, query, *args, **kwargs):
        try:
            return super().get_mask_sizes(query, *args, **kwargs)
        except ValueError:
            q_len = query if isinstance(query, int) else query.shape[0]
            return self.seen_tokens + q_len, 0
