"""Model families (spec -> transformers config -> model), probe tokenizer, and `describe`.

    model, info = models.build(cfg.model, tokenizer)   # a probe, randomly initialised
    models.describe(model)                             # params, layer types, cache bytes vs context
"""
from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from models.family import FAMILIES, Family, ModelConfigError, Preset, get_family, register

__all__ = ["FAMILIES", "Family", "ModelConfigError", "Preset", "get_family", "register", "validate", "build", "describe"]


def validate(model_cfg) -> None:
    """Raise ModelConfigError (one line) for an unknown family, pattern or size before any work is done."""
    family = get_family(str(model_cfg.family))
    family.layer_types(str(model_cfg.pattern), family.preset(str(model_cfg.size)).layers)


def build(model_cfg, tokenizer, seed: int = 0):
    """A randomly initialised probe of `model_cfg.family` at `model_cfg.pattern` / `model_cfg.size`."""
    family = get_family(str(model_cfg.family))
    config, match = family.matched_config(
        str(model_cfg.pattern),
        str(model_cfg.size),
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    info = describe(model)
    info.update(family=family.name, pattern=str(model_cfg.pattern), size=str(model_cfg.size), **match)
    return model, info


def describe(model, contexts=(4096, 32768, 131072, 1 << 20), dtype_bytes: int = 2) -> dict:
    """Parameters, per-layer mixer types, and inference-cache bytes per sequence at each context length."""
    config = model.config
    family = get_family(_family_of(config))
    layer_types = list(config.layer_types)
    cache = {str(c): family.cache_bytes(config, c, dtype_bytes) for c in contexts}
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "layer_types": layer_types,
        "cache_bytes": cache,
    }


def _family_of(config) -> str:
    for name, cls in FAMILIES.items():
        if cls.model_type == config.model_type:
            return name
    get_family("")  # loads the catalog, then raises with the accepted names
    raise ModelConfigError(f"no family for model_type {config.model_type!r}")
