"""Shared fixtures: composing the real Hydra configs, a private data cache, tiny probe models; the command line in
subprocesses, started in the background."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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


def hybrid_eval(*args, cwd, env=None, **popen):
    """`python -m hybrid_eval ARGS` (= `hybrid-eval`) in `cwd`, as a user runs it: the finished run with its stdout and
    stderr as text; given Popen arguments (stdout=...), the running process."""
    env = {**(env or os.environ), "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": ""}
    cmd = [sys.executable, "-m", "hybrid_eval", *args]
    if popen:
        return subprocess.Popen(cmd, cwd=cwd, env=env, text=True, **popen)
    return subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True)


def selected(request, test) -> list[dict]:
    """The cases of `test` (a test function of the requesting module) that this session runs, after -k and -m: each
    one's parameters, {} for a test without parameters."""
    return [item.callspec.params if hasattr(item, "callspec") else {} for item in request.session.items
            if item.module is request.module and item.originalname == test.__name__]


@contextmanager
def background(workers: int):
    """A pool of `workers` threads for command-line runs that start now and that tests wait for later (each process
    spends seconds of CPU importing torch and transformers, so a few at a time keep both cores busy). What has not
    started when the pool closes (a -x stop) is cancelled."""
    pool = ThreadPoolExecutor(workers)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)
