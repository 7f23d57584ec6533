"""``hydra.launcher.mps=true``: NVIDIA's Multi-Process Service for the jobs packed on a machine's GPUs.

Without MPS a GPU time-slices between processes: the kernels of packed jobs never run at the same time, so packing
only fills the gaps one job leaves between its launches. A ~30M-parameter probe is bound by kernel launches (at ~49k
tokens/s it uses about 2% of an H100), and four packed jobs gave 2.6x the tokens/s of one (reports/minimax-gap). Under
MPS the jobs' kernels share the GPU's streaming multiprocessors concurrently.

The launcher starts one control daemon (``nvidia-cuda-mps-control -d``) before the first job, with its pipe and log
directories in a fresh temporary directory (a Unix socket path must stay short), passes those directories to every job
(``CUDA_MPS_PIPE_DIRECTORY``, ``CUDA_MPS_LOG_DIRECTORY``: the jobs connect to it), and stops it (``quit``) when the
batch is done, whatever happened to the jobs. The daemon serves every GPU it can see; each job still picks its GPU
with ``CUDA_VISIBLE_DEVICES``. It needs the control program on PATH and the right to start it (root, or the GPUs'
owner); otherwise the sweep stops before any job with one line saying so.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hybrid_eval.harness.errors import ConfigError

log = logging.getLogger(__name__)
CONTROL = "nvidia-cuda-mps-control"


class Mps:
    """A running MPS control daemon: ``env`` for the jobs; ``stop()`` ends it."""

    def __init__(self, exe: str, root: Path, env: dict[str, str]) -> None:
        self.exe, self.root, self.env = exe, root, env

    def stop(self) -> None:
        done = subprocess.run([self.exe], input="quit\n", text=True, capture_output=True,
                              env=os.environ | self.env, timeout=60)
        if done.returncode != 0:
            log.warning("MPS control daemon did not stop cleanly (exit %d): %s", done.returncode,
                        (done.stderr or done.stdout).strip().splitlines()[:1])
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Mps:
    """Start the MPS control daemon; a ConfigError in one line if it cannot be."""
    exe = shutil.which(CONTROL)
    if exe is None:
        raise ConfigError(f"hydra.launcher.mps=true needs {CONTROL} on PATH (NVIDIA's driver utilities), which is not "
                          "there; accepted: mps=false, or a GPU machine with the control program")
    root = Path(tempfile.mkdtemp(prefix="hybrid-eval-mps-"))
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(root / "pipe"), "CUDA_MPS_LOG_DIRECTORY": str(root / "log")}
    for d in env.values():
        Path(d).mkdir()
    done = subprocess.run([exe, "-d"], text=True, capture_output=True, env=os.environ | env, timeout=60)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        why = ((done.stderr or done.stdout).strip().splitlines() or [f"exit code {done.returncode}"])[0]
        raise ConfigError(f"hydra.launcher.mps=true: {CONTROL} -d failed: {why}; accepted: mps=false, or a machine "
                          "where this user may start MPS (root or the GPUs' owner)")
    log.info("MPS control daemon started (pipes in %s)", env["CUDA_MPS_PIPE_DIRECTORY"])
    return Mps(exe, root, env)
