"""Where a result came from: the code (git commit and whether the tree had uncommitted changes), the versions of
the packages that compute it, and the hardware. Written into every results.json and every W&B run's config, so
two numbers that differ can be traced to a code, library or machine difference.

    {"git": {"commit", "dirty"}, "packages": {name: version | None}, "hardware": {...}}

`git` is null outside a git checkout (an installed wheel); a package that is not installed has version null.
"""
from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGES = ("hybrid-eval", "torch", "transformers", "flash-linear-attention", "lm_eval", "wandb", "hydra-core")
ROOT = Path(__file__).resolve().parents[2]  # the checkout holding hybrid_eval/, when it is one


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict | None:
    """{"commit": sha, "dirty": uncommitted changes to tracked files} of the checkout hybrid_eval is imported from."""
    top = _git("rev-parse", "--show-toplevel")
    if not top or Path(top.strip()).resolve() != ROOT:  # site-packages inside some other repository is not ours
        return None
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def hardware(device=None) -> dict:
    """CPU, platform and, when CUDA is present, the GPUs' names and memory; `device` is the run's torch device."""
    import torch

    out = {"device": None if device is None else str(device), "platform": platform.platform(),
           "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
           "cpu_count": os.cpu_count(), "cuda": torch.version.cuda, "gpus": []}
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            out["gpus"].append({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1)})
    return out


def provenance(device=None) -> dict:
    return {"git": git_state(), "packages": package_versions(), "hardware": hardware(device)}
