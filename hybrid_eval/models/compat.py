"""transformers version differences the models work around, each in one place."""
from __future__ import annotations

import inspect


def cache_keyword(fn) -> str:
    """The keyword `fn` takes a cache under: "cache" (transformers >= 5.25 signatures) or "past_key_values" (5.17 to
    5.24; the GPU image runs 5.17). Used for models' forwards and for transformers' mask builders."""
    return "cache" if "cache" in inspect.signature(fn).parameters else "past_key_values"
