"""A finished sweep as W&B runs, from its saved files: ``hybrid-eval-report SWEEP --wandb-relog offline|online``.

A sweep run with ``logger=none`` (the GPU study of reports/minimax-gap, where each call's output must stay small)
has no W&B runs. Everything a job's run holds is in its folder, so the runs can be made afterwards: per job one run
(group = the sweep, name ``family:pattern:size:seedN``, job type = the pattern, the family/pattern/size/suite/seed
tags) with the job's resolved config (``.hydra/config.yaml``) and provenance as config, its training loss curve
(``train/loss`` against ``train/step``, the points the job logged), its summary metrics and task table (the same
``results`` call a live run makes) and its results.json + samples.jsonl as an artifact; then the sweep's report run
(gap tables, charts, figures), as ``hybrid-eval-report --wandb`` logs it. Offline runs land under each job's
``wandb/`` (``wandb sync`` uploads them); a second relog replaces a job's offline run (same run id).
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from hybrid_eval.harness import store
from hybrid_eval.harness.analysis.sweep_jobs import load_jobs
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.report import tracking

MODES = ("offline", "online")


def _job_config(job_dir: Path) -> dict:
    """The job's config as Hydra saved it (interpolations left as written: ``${hydra:...}`` resolves only in a job)."""
    path = job_dir / ".hydra" / "config.yaml"
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False) if path.is_file() else {}


def relog(sweep_dir, gaps: dict, figures: dict, mode: str, project: str = "hybrid-eval",
          entity: str | None = None) -> list[Path]:
    """Log every complete job of `sweep_dir` and its report (`gaps`, `figures`: report.build's) as W&B runs in
    `mode`; returns the run folders (jobs first, the report last)."""
    if mode not in MODES:
        raise ConfigError(f"--wandb-relog {mode!r}; accepted: {', '.join(MODES)}")
    sweep_dir = Path(sweep_dir)
    settings = {"mode": mode, "project": project, "entity": entity}
    runs = []
    for results in load_jobs(sweep_dir):  # results.json of each complete job (and its samples, unused here)
        if results.get("baseline_of"):
            continue  # a pretrained job's named baseline: part of its job's record, not a run of its own
        job_dir = sweep_dir / results["dir"]
        if not (job_dir / store.RESULTS).is_file():
            job_dir = sweep_dir  # a single run's directory is itself the job
        model, seed = results.get("model", {}), int(results.get("seed", 0))
        name = f"{model.get('family')}:{model.get('pattern')}:{model.get('size')}"
        tracker = tracking.WandbTracker(
            **settings, group=str(sweep_dir), job_dir=str(job_dir), run_name=f"{name}:seed{seed}",
            job_type=str(model.get("pattern")),
            run_config={**_job_config(job_dir), "provenance": results.get("provenance"), "relogged_from": str(job_dir)})
        try:
            tracker.tag(tracking.job_tags(model, str(results.get("suite")), seed) + ["relogged"])
            for step, loss in (results.get("train") or {}).get("loss_curve") or []:
                tracker.log({"train/loss": loss}, step=int(step))
            tracker.results(results)
            tracker.job_artifact(f"{name}:{results.get('suite')}:seed{seed}",
                                 [job_dir / store.RESULTS, job_dir / store.SAMPLES])
        finally:
            tracker.finish()
        runs.append(tracker.run_dir)
    cfg = OmegaConf.create({"logger": {"_target_": f"{tracking.__name__}.WandbTracker", **settings}})
    report_run = tracking.log_report(sweep_dir, gaps, figures, cfg=cfg, group=str(sweep_dir))
    return runs + [report_run]
