"""Shared by tests/models: every family x pattern at `tiny`, tiny random models, and the mixer each layer built."""
from __future__ import annotations

import os

import torch
from transformers import AutoModelForCausalLM

from hybrid_eval.models import get_family
from tests.conftest import ROOT

PATTERNS = {
    "qwen3_next": ["F", "LLLF", "L"],
    "kimi_linear": ["F", "LLLF", "L"],
    "minimax": ["F", "LLLLLLLF", "LLLF", "L"],
    "deepseek_v32": ["dense", "sparse"],
}
CASES = [(f, p) for f, ps in PATTERNS.items() for p in ps]
TOPK = 4  # deepseek's sparse probes keep 4 keys per query, so prompts of 5+ tokens really are sparse

# the transformers module each layer must hold for each pattern letter (what the model runs, not what the config says)
MIXERS = {
    "qwen3_next": {"F": "Qwen3NextAttention", "L": "Qwen3NextGatedDeltaNet"},
    "kimi_linear": {"F": "KimiLinearAttention", "L": "KimiLinearDeltaAttention"},
    "minimax": {"F": "MiniMaxAttention", "L": "MiniMaxLightningAttention"},
}


def tiny(family: str, pattern: str, vocab_size: int = 64, seed: int = 0, dtype=torch.float32):
    config, _ = get_family(family).matched_config(pattern, "tiny", vocab_size, pad_token_id=0, index_topk=TOPK)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).to(dtype).eval()


def built_pattern(model) -> list[str]:
    """Per layer, the pattern letter (or deepseek word) of the mixer module the model actually built."""
    family = model.config.model_type
    out = []
    for layer in model.model.layers:
        if family == "deepseek_v32":
            topk = layer.self_attn.indexer.index_topk
            out.append("dense" if topk >= model.config.max_position_embeddings else "sparse")
            continue
        mixer = getattr(layer, "linear_attn", None) or layer.self_attn
        names = {cls: letter for letter, cls in MIXERS[family].items()}
        out.append(names.get(type(mixer).__name__, type(mixer).__name__))
    return out


def expected_pattern(pattern: str, n_layers: int) -> list[str]:
    if pattern in ("dense", "sparse"):
        return [pattern] * n_layers
    return [pattern[i % len(pattern)] for i in range(n_layers)]


def cli_env() -> dict:
    """Environment for a `hybrid-eval` subprocess: this checkout first on PYTHONPATH, W&B offline."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "WANDB_MODE": "offline"}
