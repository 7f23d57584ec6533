"""A packed job's share of its GPU's memory (``hydra.launcher.gpu_memory`` of the pack launcher).

PyTorch's caching allocator keeps what a job has freed for reuse, so a job holds more than its peak use: eight `base`
jobs on `minimax_gap` (peak 5.6-7.1 GB allocated each) ran an 80 GB H100 out of memory while holding 8.5-15 GB each
(reports/minimax-gap). With a share, each job's allocator stays under ``share x`` the card's memory, returning
cached blocks to its own pool before it grows past it (``torch.cuda.set_per_process_memory_fraction``); a job that
needs more than its share fails with CUDA's out-of-memory error, named in its failure.txt.

The launcher passes the share in the job's environment (:data:`ENV`); the job applies it once it knows its device
(harness/run.py).
"""
from __future__ import annotations

import os

from hybrid_eval.harness.errors import ConfigError

ENV = "HYBRID_EVAL_GPU_MEMORY_FRACTION"
AUTO_TOTAL = 0.9  # of the card, split among the jobs packed on it; the rest is their CUDA contexts (~0.5 GB each)


def share(setting, jobs_on_gpu: int) -> float | None:
    """The fraction of its GPU one job may hold: ``auto`` splits :data:`AUTO_TOTAL` among the jobs on that GPU (no
    limit for a job alone), a number in (0, 1] is used as given, null sets no limit."""
    if setting is None:
        return None
    if setting == "auto":
        return None if jobs_on_gpu <= 1 else AUTO_TOTAL / jobs_on_gpu
    return float(setting)


def check(setting) -> None:
    ok = setting is None or setting == "auto" or (
        isinstance(setting, (int, float)) and not isinstance(setting, bool) and 0 < setting <= 1)
    if not ok:
        raise ConfigError(f"hydra.launcher.gpu_memory={setting!r}; accepted: auto (0.9 of the card split among its "
                          "jobs), null (no limit) or a fraction in (0, 1]")


def apply(device) -> float | None:
    """Limit this process's allocator on ``device`` to the share the launcher set (:data:`ENV`); returns it."""
    text = os.environ.get(ENV)
    if not text or getattr(device, "type", None) != "cuda":
        return None
    import torch

    fraction = float(text)
    index = device.index if device.index is not None else torch.cuda.current_device()  # torch refuses a bare "cuda"
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    return fraction
