"""Hydra multirun callback: when a sweep ends, compare every finished variant with the baseline.

Configured in conf/config.yaml under `hydra.callbacks`; writes `gaps.json` and `report.md` into the sweep
directory and prints where the report is.
"""
from __future__ import annotations

from pathlib import Path

from hydra.experimental.callback import Callback

from harness import report


class GapReport(Callback):
    def __init__(self, baseline: str = "F"):
        self.baseline = baseline

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        path = report.write(sweep_dir, self.baseline)
        print(f"report: {path.resolve()}")
