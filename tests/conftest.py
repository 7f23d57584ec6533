"""Shared fixtures: composing the real Hydra configs, a private data cache, tiny probe models."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    os.environ["HYBRID_EVAL_CACHE"] = str(tmp_path_factory.mktemp("data-cache"))
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_MODE"] = "offline"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def compose_config(overrides=(), name: str = "config"):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(name, overrides=list(overrides), return_hydra_config=True)


def tiny_qwen3_next(pattern: str, vocab_size: int = 64, seed: int = 0):
    import torch
    from transformers import AutoModelForCausalLM

    from hybrid_eval.models import get_family

    family = get_family("qwen3_next")
    config, _ = family.matched_config(pattern, "tiny", vocab_size, pad_token_id=0)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).eval()
