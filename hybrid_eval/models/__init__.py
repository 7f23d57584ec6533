"""Model families (spec -> transformers config -> model), pretrained loading, probe tokenizer, and `describe`.

    model, info = models.build(cfg.model, tokenizer)               # a probe, randomly initialised (model.preset too)
    model, tokenizer, info = models.load_pretrained(cfg.model)     # model=pretrained: a local checkpoint
    models.describe(model)                                         # params, layer types, cache bytes vs context
    cache = models.make_cache(model)                               # an inference cache for any pattern
    model(ids, use_cache=True, **{models.cache_kwarg(model): cache})

A family (models/family.py) is one module declaring its presets, patterns, binding and cache quirks, plus one line
in models/catalog.py; everything else asks the registry (`FAMILIES`, `get_family`, `family_of_config`).
"""
from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from hybrid_eval.models import window
from hybrid_eval.models.binding import bind
from hybrid_eval.models.cache import cache_kwarg, make_cache
from hybrid_eval.models.family import FAMILIES, Family, ModelConfigError, Preset, get_family, register
from hybrid_eval.models.presets import SYSTEMS, apply as apply_preset

__all__ = ["FAMILIES", "Family", "ModelConfigError", "Preset", "SYSTEMS", "get_family", "register", "validate", "build",
           "describe", "apply_preset", "make_cache", "cache_kwarg", "family_of_config", "is_pretrained", "is_endpoint",
           "load_pretrained"]

PRETRAINED = "pretrained"
bind()  # every registered family's linear layers run through kernels/ (its `binding`; models/binding.py)

INITS = ("recipe", "transformers")  # probe init: the architecture's training recipe, or transformers' _init_weights


def is_pretrained(model_cfg) -> bool:
    """True for `model=pretrained` (a checkpoint loaded from a local directory, not a probe built here)."""
    return str(model_cfg.get("family")) == PRETRAINED


def is_endpoint(model_cfg) -> bool:
    """True for `model=endpoint` (a model served by an OpenAI-compatible server, models/endpoint.py)."""
    from hybrid_eval.models.endpoint import ENDPOINT

    return str(model_cfg.get("family")) == ENDPOINT


def validate(model_cfg) -> None:
    """Raise ModelConfigError (one line) for an unknown family, pattern, size, knob or path before any work is done."""
    if is_endpoint(model_cfg):
        from hybrid_eval.models.endpoint import check_config

        check_config(model_cfg)
        return
    if is_pretrained(model_cfg):
        from hybrid_eval.models.pretrained import check_dirs

        check_dirs(model_cfg)
        return
    model_cfg = apply_preset(model_cfg)  # model.preset: family and pattern of a named system (models/presets.py)
    family = get_family(str(model_cfg.family))
    family.layer_types(str(model_cfg.pattern), family.preset(str(model_cfg.size)).layers)
    if str(model_cfg.get("init", "recipe")) not in INITS:
        raise ModelConfigError(f"model.init={model_cfg.get('init')!r}; accepted: {', '.join(INITS)}")
    family.check_knobs(**_knobs(family, model_cfg))
    _refuse_foreign_knobs(family, model_cfg)


def build(model_cfg, tokenizer, seed: int = 0):
    """A randomly initialised probe of `model_cfg.family` at `model_cfg.pattern` / `model_cfg.size` (or of the
    family and pattern `model_cfg.preset` names)."""
    preset = model_cfg.get("preset") if hasattr(model_cfg, "get") else None
    model_cfg = apply_preset(model_cfg)
    family = get_family(str(model_cfg.family))
    knobs = _knobs(family, model_cfg)
    config, match = family.matched_config(
        str(model_cfg.pattern),
        str(model_cfg.size),
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **knobs,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    if model_cfg.get("init", "recipe") == "recipe":
        family.init_probe(model, torch.Generator().manual_seed(seed))
    info = describe(model)
    if window.window_of(config) is None:
        knobs.pop("window", None)  # no S layer: the window changes nothing, so it is not part of the variant
    info.update(family=family.name, pattern=str(model_cfg.pattern), size=str(model_cfg.size), **knobs, **match)
    if preset is not None:
        info["preset"] = str(preset)
    return model, info


def load_pretrained(model_cfg):
    """(model, tokenizer, info) for `model=pretrained model.path=DIR`; see models.pretrained."""
    from hybrid_eval.models.pretrained import load

    return load(model_cfg)


def describe(model, contexts=(4096, 32768, 131072, 1 << 20), dtype_bytes: int = 2) -> dict:
    """Parameters, per-layer mixer types, and inference-cache bytes per sequence at each context length.

    `cache_bytes` is None for a pretrained architecture no family describes (its layer types are then the
    config's `layer_types`, or full attention everywhere when the config has none).
    """
    config = model.config
    family = family_of_config(config)
    if family is None:
        n = int(getattr(config, "num_hidden_layers", 0) or 0)
        layer_types = list(getattr(config, "layer_types", None) or ["full_attention"] * n)
        cache = None
    else:
        layer_types = family.layer_kinds(config)
        cache = {str(c): family.cache_bytes(config, c, dtype_bytes) for c in contexts}
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "layer_types": layer_types,
        "cache_bytes": cache,
    }


def family_of_config(config) -> Family | None:
    """The registered family whose transformers model_type `config` has, or None."""
    import hybrid_eval.models.catalog  # noqa: F401  (registers the built-in families)

    for cls in FAMILIES.values():
        if cls.model_type == config.model_type:
            return cls()
    return None


def _knobs(family: Family, model_cfg) -> dict:
    return {k: (model_cfg.get(k, default) if hasattr(model_cfg, "get") else default) for k, default in family.knobs.items()}


def _refuse_foreign_knobs(family: Family, model_cfg) -> None:
    """ModelConfigError (one line) for a knob only other families read (`+model.rope=true` on qwen3_next), set to
    something other than its default: this family would silently ignore it. Left at the default (a preset switching
    family from a config that lists it) it passes."""
    if not hasattr(model_cfg, "get"):
        return
    for key in sorted({k for cls in FAMILIES.values() for k in cls.knobs} - set(family.knobs)):
        owners = sorted(name for name, cls in FAMILIES.items() if key in cls.knobs)
        value = model_cfg.get(key, None)
        if value is not None and all(value != FAMILIES[o].knobs[key] for o in owners):
            raise ModelConfigError(f"model.{key}={value!r} is not a knob of {family.name}; accepted: model.{key} only "
                                   f"with model.family={' or '.join(owners)}")
