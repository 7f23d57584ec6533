"""Experiment tracking: a W&B run per job (offline by default) or nothing (`logger=none`).

Both classes are instantiated from `conf/logger/*.yaml` through `_target_`. `logger.mode=online` falls back
to offline with one warning when W&B cannot be reached; results never depend on the tracker.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class NullTracker:
    def __init__(self, **_):
        pass

    def log(self, metrics: dict, step: int | None = None) -> None:
        pass

    def summary(self, metrics: dict) -> None:
        pass

    def table(self, key: str, columns: list[str], rows: list[list]) -> None:
        pass

    def finish(self) -> None:
        pass


class WandbTracker(NullTracker):
    MODES = ("offline", "online", "disabled")

    def __init__(self, *, mode: str = "offline", project: str = "hybrid-eval", entity: str | None = None,
                 group: str | None = None, job_dir: str = ".", run_name: str | None = None,
                 job_type: str | None = None, run_config: dict | None = None, tags=None, **_):
        if mode not in self.MODES:
            from harness.errors import ConfigError

            raise ConfigError(f"logger.mode={mode!r}; accepted: {', '.join(self.MODES)}")
        import wandb

        self._wandb = wandb
        os.environ.setdefault("WANDB_SILENT", "true")
        kwargs = dict(project=project, entity=entity, group=group, name=run_name, job_type=job_type,
                      config=run_config, dir=str(Path(job_dir)), tags=list(tags or []), reinit="finish_previous")
        try:
            self.run = wandb.init(mode=mode, **kwargs)
        except Exception as e:  # no key, no network: keep the results, log offline
            if mode != "online":
                raise
            log.warning("W&B online init failed (%s); logging offline instead", str(e).splitlines()[0])
            self.run = wandb.init(mode="offline", **kwargs)

    def log(self, metrics, step=None):
        self.run.log(metrics, step=step)

    def summary(self, metrics):
        for k, v in metrics.items():
            self.run.summary[k] = v

    def table(self, key, columns, rows):
        self.run.log({key: self._wandb.Table(columns=columns, data=rows)})

    def finish(self):
        self.run.finish()
