"""Hydra callback that runs before any job of a run or sweep (conf/config.yaml, hydra.callbacks.guard):

    - the config's schema (harness/config_check.py) and the suite's tasks and plugins, so a typo or a broken plugin
      stops the whole sweep with one line before job 0, instead of failing job 0 and running the others without it;
    - gaps.baseline must be one of the patterns a sweep over model.pattern runs (or has finished in its directory);
    - the output directory (hydra.run.dir or hydra.sweep.dir) must be writable;
    - a sweep directory is locked for the sweep's lifetime (harness/lock.py): a second identical sweep stops.

Every failure is one line on stderr and exit code 2 (harness/errors.py).
"""
from __future__ import annotations

from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from hybrid_eval.harness import config_check, lock, store
from hybrid_eval.harness.errors import ConfigError, user_errors


def swept_patterns(config) -> list[str]:
    """The model.pattern of every job a basic-sweeper multirun of `config` launches (its params, then overrides)."""
    from hybrid_eval.harness.analysis.sweep_jobs import expand

    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + [str(o) for o in OmegaConf.select(config, "hydra.overrides.task") or []]
    try:
        jobs = expand(args)
    except Exception:  # another sweeper's syntax: nothing to check against
        return []
    out = []
    for job in jobs:
        for o in job:
            key, _, value = o.partition("=")
            if key == "model.pattern" and value not in out:
                out.append(value)
    return out


def finished_patterns(sweep_dir) -> set[str]:
    """The model.pattern of every complete job already in `sweep_dir` (store.is_complete: the jobs the report reads;
    a sweep grown in place keeps them)."""
    root = Path(str(sweep_dir))
    jobs = [d for d in root.iterdir() if d.is_dir() and store.is_complete(d)] if root.is_dir() else []
    return {str(store.read_json(d / store.RESULTS)["model"]["pattern"]) for d in jobs}


def check_baseline(config) -> None:
    baseline = str(OmegaConf.select(config, "gaps.baseline"))
    patterns = swept_patterns(config)
    if len(patterns) < 2 or baseline in patterns:
        return
    sweep_dir = OmegaConf.select(config, "hydra.sweep.dir")
    if sweep_dir is not None and baseline in finished_patterns(sweep_dir):
        return  # new patterns grown beside a baseline the sweep already holds
    raise ConfigError(f"gaps.baseline={baseline!r} is not a pattern of this sweep; accepted: one of "
                      f"{', '.join(patterns)}, or a pattern with a finished job in hydra.sweep.dir")


def check_before_jobs(config, out_key: str) -> None:
    from hybrid_eval.tasks.data import Suite

    config_check.check(config)
    Suite.from_config(config.suite)  # task names, knobs and plugins (loaded atomically)
    if out_key == "hydra.sweep.dir":
        check_baseline(config)
        launcher = OmegaConf.select(config, "hydra.launcher")
        if launcher is not None and str(launcher.get("_target_", "")).endswith(".PackLauncher"):
            from hybrid_eval.harness.launch.pack import check_launcher

            check_launcher(OmegaConf.to_container(launcher, resolve=True))
    config_check.writable_dir(out_key, OmegaConf.select(config, out_key))  # last: it creates the directory


class SweepGuard(Callback):
    def __init__(self) -> None:
        self._lock = None

    def on_run_start(self, config, **kwargs) -> None:
        with user_errors():
            check_before_jobs(config, "hydra.run.dir")  # run_job locks the run's directory

    def on_multirun_start(self, config, **kwargs) -> None:
        with user_errors():
            check_before_jobs(config, "hydra.sweep.dir")
            self._lock = lock.acquire(OmegaConf.select(config, "hydra.sweep.dir"))

    def on_multirun_end(self, config, **kwargs) -> None:
        lock.release(self._lock)
        self._lock = None
