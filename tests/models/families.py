"""Shared by tests/models: every registered family x its `patterns` at `tiny`, tiny random models, and the mixer each
layer built. Families and patterns come from the registry, so a new family is tested without an edit here."""
from __future__ import annotations

import os

import torch
from transformers import AutoModelForCausalLM

import hybrid_eval.models.catalog  # noqa: F401  (registers the built-in families before the lists below are made)
from hybrid_eval.models import FAMILIES, family_of_config, get_family
from tests.conftest import ROOT

PATTERNS = {name: list(cls.patterns) for name, cls in FAMILIES.items()}
RELEASED = {name: cls.released_pattern for name, cls in FAMILIES.items()}
CASES = [(f, p) for f, ps in PATTERNS.items() for p in ps]
TOPK = 4  # deepseek's sparse probes keep 4 keys per query, so prompts of 5+ tokens really are sparse


def tiny(family: str, pattern: str, vocab_size: int = 64, seed: int = 0, dtype=torch.float32, window: int = 64):
    config, _ = get_family(family).matched_config(pattern, "tiny", vocab_size, pad_token_id=0, index_topk=TOPK,
                                                  window=window)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).to(dtype).eval()


def built_pattern(model) -> list[str]:
    """Per layer, the pattern letter (or word, e.g. deepseek's dense / sparse) of the mixer module the model actually
    built (`Family.built_pattern`: read from the modules, not from the config)."""
    return family_of_config(model.config).built_pattern(model)


def expected_pattern(family: str, pattern: str, n_layers: int) -> list[str]:
    """`pattern` repeated over `n_layers` (LLLF on 8: L,L,L,F,L,L,L,F); a word pattern (dense) names every layer."""
    if pattern in get_family(family).layer_names:
        return [pattern] * n_layers
    return [pattern[i % len(pattern)] for i in range(n_layers)]


def cli_env() -> dict:
    """Environment for a `hybrid-eval` subprocess: this checkout first on PYTHONPATH, W&B offline."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "WANDB_MODE": "offline"}
