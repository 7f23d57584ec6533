"""Test helpers: a trained tiny probe checkpoint, and `hybrid-eval-serve` on it as a real server process on a free
port of 127.0.0.1 (the endpoint tests talk HTTP to it, nothing is mocked)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["eval.n_test=6", "train.n_examples=200", "train.n_validation=20", "logger=none", "threads=1"]


def config(*overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=["~experiment", *SMALL, *overrides])


def train_probe(job_dir: Path) -> Path:
    """A tiny qwen3_next LLLF probe trained 150 steps on `quick` (~35 s; one_fact_qa ~80%, so scores compared
    across paths are not all zero); returns its checkpoint directory."""
    from hybrid_eval.harness.run import run_job

    run_job(config("model.size=tiny", "train.max_steps=150", "train.lr=3e-3", "train.n_examples=300"), job_dir)
    return job_dir / "checkpoint"


class Server:
    """`python -m hybrid_eval.harness.serve CKPT --port PORT ARGS...` as a subprocess (PORT 0: a free one); `.url` is its
    /v1 base URL, `.port` its port."""

    def __init__(self, ckpt: Path, *args: str, env: dict | None = None, port: int = 0):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hybrid_eval.harness.serve", str(ckpt), "--port", str(port), "--name", "probe",
             "--threads", "1", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        deadline = time.time() + 120
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("serving ") or self.proc.poll() is not None:
                break
        if not line.startswith("serving "):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()[-2000:]}")
        self.url = line.split(" on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
