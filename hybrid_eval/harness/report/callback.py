"""Hydra multirun callback: compare every finished variant and seed with the baseline when a sweep ends.

Configured in conf/config.yaml under `hydra.callbacks`. At the end of a sweep it writes `gaps.json`,
`report.md` and `plots/*.png` into the sweep directory from whichever jobs finished (naming the ones
that did not), logs a W&B run of job_type "report" in the sweep's group (unless `logger=none`), and prints
where the report is. Works with any launcher (basic, joblib, submitit): it reads results from disk.

Hydra skips `on_multirun_end` when a job raised, so after a failed job every later job end rewrites the
report of what has finished (no W&B run then); `hybrid-eval-report SWEEP_DIR` rebuilds it any time.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.report import markdown as report

log = logging.getLogger(__name__)


class GapReport(Callback):
    def __init__(self, baseline: str = "F", wandb_report: bool = True):
        self.baseline = baseline
        self.wandb_report = wandb_report
        self._failed = False

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if job_return.status == JobStatus.FAILED:
            self._failed = True
        if not self._failed or "MULTIRUN" not in str(config.hydra.mode):
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = report.write(sweep_dir, self.baseline)
            print(f"a job failed; report of the finished jobs so far: {path.resolve()}")
        except Exception as e:  # the report must never hide the job's own error
            log.warning("could not write the interim report: %s", e)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        try:
            path, gaps, figs = report.build(sweep_dir, self.baseline)
        except ConfigError as e:  # e.g. gaps.baseline not among the sweep's patterns: one line, no report
            print(f"hybrid-eval: error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        if gaps.get("missing") or gaps.get("incomplete") or gaps.get("damaged"):
            print("not finished: " + "; ".join(gaps.get("missing", []) + gaps.get("incomplete", []) + gaps.get("damaged", [])))
        if self.wandb_report and gaps["scores"]:
            from hybrid_eval.harness.report import tracking

            try:
                tracking.log_report(sweep_dir, gaps, figs, cfg=config, group=str(config.hydra.sweep.dir))
            except Exception as e:  # results never depend on the tracker
                log.warning("W&B report run failed: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        print(f"report: {path.resolve()}")
