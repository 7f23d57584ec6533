"""A saved probe that plain transformers and `lm_eval --model hf` can generate from, all-linear ones included.

transformers' `generate()` builds a `DynamicCache` whose mask sizes come from its first attention layer; an
all-`L` model has none, so the first forward raises `ValueError: get_mask_sizes can only be called on Attention
layers` (models/cache.py has the harness's own cache for that case). A checkpoint without an attention layer is
therefore saved with a small modeling file beside it (`modeling_hybrid_eval.py`) and an `auto_map` entry in its
config.json: with `trust_remote_code=True` (lm-eval: `--model_args pretrained=DIR,trust_remote_code=True`),
`AutoModelForCausalLM` loads the family's own transformers class with `generate()` running without a cache (each
step re-reads the whole sequence: the same tokens, slower). Without the flag the checkpoint loads as before.

The modeling file imports only transformers, so the checkpoint needs no hybrid-eval to generate.
"""
from __future__ import annotations

import json
from pathlib import Path

MODELING = "modeling_hybrid_eval"
CLASS = "AllLinearForCausalLM"

SOURCE = '''"""Written by hybrid-eval (hybrid_eval/models/hf_export.py) beside a checkpoint with no attention layer.

transformers' generate() cannot size the attention mask from a cache that holds only linear-attention states, so
this class generates without a cache: every step re-reads the whole sequence (same tokens, slower).
"""
from {module} import {base} as _Base


class {cls}(_Base):
    def generate(self, *args, **kwargs):
        kwargs["use_cache"] = False
        return super().generate(*args, **kwargs)
'''


def attention_free(config) -> bool:
    """True when every layer of `config` is a linear mixer (`layer_types` all "linear_attention")."""
    types = getattr(config, "layer_types", None) or []
    return bool(types) and all(t == "linear_attention" for t in types)


def write_generate_shim(model, path) -> bool:
    """After `model.save_pretrained(path)`: for an attention-free model, write the modeling file and point
    config.json's `auto_map` at it. Returns whether it did."""
    if not attention_free(model.config):
        return False
    path = Path(path)
    base = type(model)
    (path / f"{MODELING}.py").write_text(SOURCE.format(module=base.__module__, base=base.__name__, cls=CLASS))
    cfg_path = path / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["auto_map"] = {**(cfg.get("auto_map") or {}), "AutoModelForCausalLM": f"{MODELING}.{CLASS}"}
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    return True
