"""Experiment tracking: a W&B run per job (offline by default) or nothing (`logger=none`), and one W&B
run of job_type "report" per sweep with the gap table and charts.

Both classes are instantiated from `conf/logger/*.yaml` through `_target_`. `logger.mode=online` falls back
to offline with one warning when W&B cannot be reached; results never depend on the tracker.

What a W&B user sees (runs grouped by sweep directory, job_type = the variant's pattern, or "report"):
- job runs: history `train/loss`, `train/lr`, `train/tokens_per_s` (and whatever else train.py logs, such
  as `val/accuracy`; with `train.lr_grid`, run i of the grid logs at steps i * max_steps + step, its rate as
  `train/grid_lr`); summary `eval/<task>`, `category/<category>`, `params`, `train/*`, `did_not_train`;
  tables `eval/tasks` and, with a grid, `train/lr_grid` (one row per rate: validation accuracy overall and
  per task, losses, did_not_train, still_improving, chosen); the resolved config.
  `val/*` and `train/*` curves use `train/step` as their x axis (`define_metric`); tags `family:`, `pattern:`,
  `size:`, `suite:`, `seed:`; config key `provenance` (harness/provenance.py); an artifact `results-<job>` of type
  "results" with results.json and samples.jsonl (and the checkpoint with `logger.log_checkpoint=true`).
- report run: tables `gaps/table` (job × category), `gaps/tasks`, `gaps/seeds`, `minimax/table`; a bar
  chart `gaps/by_category`; line charts `difficulty/<task>`; custom charts (report/charts.py) `charts/gap_ci` (gap by
  category with 95% error bars) and `charts/difficulty/<task>` (accuracy vs the knob with 95% bands); every report
  PNG under `plots/...`; summary `gap/<job>/<category>`, `minimax/<job>`; an artifact `report-<suite>` of type
  "report" with gaps.json, report.md and plots/.
Job runs and the report run share a group named after the sweep directory's last two parts (`<suite>/<time>`);
a single run (not a sweep) is its own group, named after its run directory (docs/wandb.md).
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

from hybrid_eval.harness.report import charts as chart_specs

log = logging.getLogger(__name__)
REACH_TIMEOUT_S = 3.0
_reachable: dict[str, tuple[bool, str]] = {}  # W&B server -> (reachable, why not), probed once per process (sweep)


def wandb_reachable(timeout: float = REACH_TIMEOUT_S) -> tuple[bool, str]:
    """Whether the W&B server (WANDB_BASE_URL, default api.wandb.ai) takes a TCP connection within `timeout` s; asked
    once per process, so a sweep without network falls back to offline at once instead of each job waiting for
    wandb.init's own retries (about 90 s)."""
    url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    if url not in _reachable:
        parsed = urlparse(url)
        host, port = parsed.hostname or url, parsed.port or (80 if parsed.scheme == "http" else 443)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            _reachable[url] = (True, "")
        except OSError as e:
            _reachable[url] = (False, f"cannot reach {host}:{port} ({e.strerror or type(e).__name__})")
    return _reachable[url]


def run_id(job_dir, job_type) -> str:
    """A job's W&B run id: the same for every attempt at the same directory, so a resumed job or a rebuilt report
    is one run, not one more."""
    return hashlib.sha256(f"{Path(job_dir).resolve()}|{job_type}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------- what gets logged (plain data)

def job_summary(results: dict) -> dict:
    """Summary metrics of one job for W&B's run comparison."""
    tr = results.get("train") or {}
    out = {f"eval/{t}": v["score"] for t, v in results["tasks"].items()}
    out |= {f"category/{c}": s for c, s in results["categories"].items()}
    if results["model"].get("params") is not None:
        out["params"] = results["model"]["params"]
    for k in ("final_loss", "initial_loss", "steps", "tokens", "epochs", "batch_size", "lr", "tokens_per_s", "seconds"):
        if tr.get(k) is not None:
            out[f"train/{k}"] = tr[k]
    if isinstance(tr.get("val_accuracy"), (int, float)):
        out["val/accuracy"] = tr["val_accuracy"]
    if isinstance(tr.get("val_loss"), (int, float)):
        out["val/loss"] = tr["val_loss"]
    from hybrid_eval.harness.train.protocol import convergence

    improving = convergence(tr)["improving"]
    if improving is not None:
        out["train/still_improving"] = improving
    if tr.get("lr_grid"):
        out["train/lr_grid_size"] = len(tr["lr_grid"])
    out["did_not_train"] = bool(results.get("did_not_train", False))
    ep = results.get("endpoint") or {}  # model=endpoint: requests, errors, tokens, latency (harness/evaluate/endpoint_scoring.py)
    for k in ("requests", "sent", "cached", "retries", "errors", "examples_per_s"):
        if ep.get(k) is not None:
            out[f"endpoint/{k}"] = ep[k]
    for k, v in (ep.get("usage") or {}).items():
        out[f"endpoint/{k}"] = v
    for k, v in (ep.get("latency_s") or {}).items():
        out[f"endpoint/latency_{k}_s"] = v
    return out


LR_GRID_COLUMNS = ["lr", "chosen", "val_accuracy", "initial_loss", "final_loss", "val_loss", "epochs", "did_not_train",
                   "still_improving", "seconds"]


def lr_grid_rows(results: dict) -> tuple[list[str], list[list]]:
    """(columns, rows) of the learning-rate grid (harness/train/lr_grid.py): one row per rate, with each task's
    validation accuracy as `val/<task>` columns; no rows without a grid."""
    grid = (results.get("train") or {}).get("lr_grid") or []
    tasks = list(dict.fromkeys(t for r in grid for t in (r.get("val_accuracy_tasks") or {})))
    rows = [[r.get(k) for k in LR_GRID_COLUMNS] + [(r.get("val_accuracy_tasks") or {}).get(t) for t in tasks] for r in grid]
    return LR_GRID_COLUMNS + [f"val/{t}" for t in tasks], rows


TASK_COLUMNS = ["task", "registered", "category", "knobs", "score", "ci_lo", "ci_hi", "n", "chance"]


def task_rows(results: dict) -> list[list]:
    return [[t, v.get("task", t), v["category"], " ".join(f"{k}={x}" for k, x in (v.get("knobs") or {}).items()),
             v["score"], *v["ci95"], v["n"], v["chance"]] for t, v in results["tasks"].items()]


GAP_COLUMNS = ["job", "variant", "seed", "category", "gap", "ci_lo", "ci_hi", "n", "distinguishable", "did_not_train",
               "undecided"]


def gap_rows(gaps: dict) -> list[list]:
    """One row per (job, category); a job that did not train has one row per category with no gap, and so has a
    category whose tasks the baseline did not learn (`undecided` says why)."""
    rows = []
    cats = sorted({t["category"] for s in gaps["scores"].values() for t in s["tasks"].values()})
    for name, v in gaps["variants"].items():
        if v.get("did_not_train"):
            rows += [[name, v["variant"], v["seed"], c, None, None, None, None, None, True, None] for c in cats]
            continue
        for c, g in (v.get("categories") or {}).items():
            rows.append([name, v["variant"], v["seed"], c, g["gap"], *g["ci95"], g.get("n"), g["distinguishable"], False,
                         None])
        for c, why in ((v.get("undecided") or {}).get("categories") or {}).items():
            rows.append([name, v["variant"], v["seed"], c, None, None, None, None, None, False, why])
    return rows


TASK_GAP_COLUMNS = ["job", "task", "category", "gap", "ci_lo", "ci_hi", "n"]


def task_gap_rows(gaps: dict) -> list[list]:
    return [[name, t, g["category"], g["gap"], *g["ci95"], g["n"]]
            for name, v in gaps["variants"].items() for t, g in (v.get("tasks") or {}).items()]


SEED_COLUMNS = ["variant", "level", "name", "mean", "std", "min", "max", "n_seeds"]


def seed_rows(gaps: dict) -> list[list]:
    return [[variant, level[:-1] if level == "tasks" else "category", k, s["mean"], s["std"], s["min"], s["max"], s["n"]]
            for variant, e in gaps.get("seeds", {}).items() for level in ("categories", "tasks")
            for k, s in (e.get("gaps") or {}).get(level, {}).items()]


MINIMAX_COLUMNS = ["job", "verdict", "control_gap", "reasoning_gap", "multi_turn_gap", "reason"]


def minimax_rows(gaps: dict) -> list[list]:
    rows = []
    for name, v in gaps["variants"].items():
        m = v.get("minimax")
        if v.get("did_not_train"):
            rows.append([name, "did not train", None, None, None, "excluded"])
        elif m:
            t = m.get("targets", {})
            rows.append([name, m["verdict"], (m.get("control") or {}).get("gap"),
                         t.get("reasoning", {}).get("gap"), t.get("multi_turn", {}).get("gap"), m["reason"]])
    return rows


def report_summary(gaps: dict) -> dict:
    out = {"jobs": len(gaps["scores"]), "missing_jobs": len(gaps.get("missing", []))}
    for name, v in gaps["variants"].items():
        if v.get("did_not_train"):
            out[f"did_not_train/{name}"] = True
            continue
        for c, g in (v.get("categories") or {}).items():
            out[f"gap/{name}/{c}"] = g["gap"]
        if v.get("minimax"):
            out[f"minimax/{name}"] = v["minimax"]["verdict"]
    for variant, e in gaps.get("seeds", {}).items():
        if "minimax" in e:
            out[f"minimax/{variant}"] = e["minimax"]["verdict"]
        for c, s in (e.get("gaps") or {}).get("categories", {}).items():
            out[f"gap_mean/{variant}/{c}"] = s["mean"]
    return out


# ---------------------------------------------------------------- trackers

class NullTracker:
    run_dir = None

    def __init__(self, **_):
        pass

    def log(self, metrics: dict, step: int | None = None) -> None:
        pass

    def summary(self, metrics: dict) -> None:
        pass

    def table(self, key: str, columns: list[str], rows: list[list]) -> None:
        pass

    def tag(self, tags: list[str]) -> None:
        pass

    def job_artifact(self, name: str, files: list, checkpoint=None) -> None:
        """A finished job's files (results.json, samples.jsonl) and, when given, its checkpoint folder."""

    def report_artifact(self, name: str, sweep_dir) -> None:
        """A finished sweep's gaps.json, report.md and plots/."""

    def results(self, results: dict) -> None:
        """A finished job: summary metrics and the per-task evaluation table."""
        self.summary(job_summary(results))
        self.table("eval/tasks", TASK_COLUMNS, task_rows(results))
        columns, rows = lr_grid_rows(results)
        if rows:
            self.table("train/lr_grid", columns, rows)

    def report(self, gaps: dict, figures: dict) -> None:
        """A finished sweep: gap tables, charts and the report's figures ({key: png path})."""

    def finish(self) -> None:
        pass


def group_name(group: str | os.PathLike | None, job_dir) -> str:
    """A W&B group a person can read: the last two parts of the sweep directory (`quick/2026-12-06_05-40-12`). A
    job outside that directory (a single run: Hydra's sweep.dir is then never made) is named after its own folder."""
    job_dir = Path(job_dir).resolve()
    if group is not None:
        g = Path(str(group)).expanduser().resolve()
        if g.is_dir() or job_dir.is_relative_to(g):
            return "/".join(g.parts[-2:])
    return "/".join(job_dir.parts[-2:])


def artifact_name(*parts) -> str:
    """W&B artifact names take letters, digits, '-', '_' and '.'; anything else becomes '-'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(str(p) for p in parts if p is not None)).strip("-")


def job_tags(info: dict, suite: str, seed: int) -> list[str]:
    """The job's tags, so runs can be filtered by each axis of a sweep."""
    return [f"family:{info.get('family')}", f"pattern:{info.get('pattern')}", f"size:{info.get('size')}",
            f"suite:{suite}", f"seed:{seed}"]


class WandbTracker(NullTracker):
    MODES = ("offline", "online", "disabled")
    STEP = "train/step"  # the x axis of train/* and val/* curves (a learning-rate grid's runs follow each other)

    def __init__(self, *, mode: str = "offline", project: str = "hybrid-eval", entity: str | None = None,
                 group: str | None = None, job_dir: str = ".", run_name: str | None = None,
                 job_type: str | None = None, run_config: dict | None = None, tags=None, log_checkpoint: bool = False,
                 charts: dict | None = None, **_):
        if mode not in self.MODES:
            from hybrid_eval.harness.errors import ConfigError

            raise ConfigError(f"logger.mode={mode!r}; accepted: {', '.join(self.MODES)}")
        import wandb

        self._wandb = wandb
        self.log_checkpoint = bool(log_checkpoint)
        self.charts = {**chart_specs.PRESETS, **(dict(charts) if charts else {})}  # W&B custom chart preset IDs
        os.environ.setdefault("WANDB_SILENT", "true")
        rid = run_id(job_dir, job_type)
        kwargs = dict(project=project, entity=entity, group=group_name(group, job_dir), name=run_name, job_type=job_type,
                      config=run_config, dir=str(Path(job_dir)), tags=list(tags or []), reinit="finish_previous", id=rid)
        if mode == "online":
            ok, why = wandb_reachable()
            if not ok:
                log.warning("W&B online: %s; logging offline instead", why)
                mode = "offline"
            else:
                kwargs["resume"] = "allow"  # an interrupted attempt's run is continued, not duplicated
        if mode == "offline":  # an interrupted attempt's offline run is replaced: one run per job
            for old in (Path(job_dir) / "wandb").glob(f"offline-run-*-{rid}"):
                shutil.rmtree(old, ignore_errors=True)
        try:
            self.run = wandb.init(mode=mode, **kwargs)
        except Exception as e:  # no key, no network: keep the results, log offline
            if mode != "online":
                raise
            log.warning("W&B online init failed (%s); logging offline instead", (str(e).splitlines() or [type(e).__name__])[0])
            kwargs.pop("resume", None)
            self.run = wandb.init(mode="offline", **kwargs)
        self.run.define_metric(self.STEP)
        for pattern in ("train/*", "val/*"):
            self.run.define_metric(pattern, step_metric=self.STEP)

    @property
    def run_dir(self) -> Path | None:
        """The run's folder (offline: .../wandb/offline-run-*), holding run-*.wandb and files/."""
        return Path(self.run.dir).parent if getattr(self.run, "dir", None) else None

    def log(self, metrics, step=None):
        self.run.log(metrics if step is None else {**metrics, self.STEP: step}, step=step)

    def tag(self, tags):
        self.run.tags = tuple(dict.fromkeys([*(self.run.tags or ()), *tags]))

    def job_artifact(self, name, files, checkpoint=None):
        art = self._wandb.Artifact(artifact_name("results", name), type="results",
                                   metadata={"checkpoint": checkpoint is not None and self.log_checkpoint})
        for f in files:
            if Path(f).is_file():
                art.add_file(str(f))
        if checkpoint is not None and self.log_checkpoint and Path(checkpoint).is_dir():
            art.add_dir(str(checkpoint), name="checkpoint")
        self.run.log_artifact(art)

    def report_artifact(self, name, sweep_dir):
        sweep_dir = Path(sweep_dir)
        art = self._wandb.Artifact(artifact_name("report", name), type="report")
        for f in ("gaps.json", "report.md"):
            if (sweep_dir / f).is_file():
                art.add_file(str(sweep_dir / f))
        if (sweep_dir / "plots").is_dir():
            art.add_dir(str(sweep_dir / "plots"), name="plots")
        self.run.log_artifact(art)

    def summary(self, metrics):
        for k, v in metrics.items():
            self.run.summary[k] = v

    def table(self, key, columns, rows):
        self.run.log({key: self._wandb.Table(columns=columns, data=rows)})

    def results(self, results):
        super().results(results)
        if results.get("did_not_train"):
            self.run.tags = tuple(self.run.tags or ()) + ("did-not-train",)

    def report(self, gaps, figures):
        wandb = self._wandb
        gap_table = wandb.Table(columns=GAP_COLUMNS, data=gap_rows(gaps))
        bars = wandb.Table(columns=["job · category", "gap"],
                           data=[[f"{r[0]} · {r[3]}", r[4]] for r in gap_rows(gaps) if not r[-1]])
        media = {
            "gaps/table": gap_table,
            "gaps/by_category": wandb.plot.bar(bars, "job · category", "gap",
                                               title=f"gap to {gaps['baseline']} by category (baseline − variant)"),
            "gaps/tasks": wandb.Table(columns=TASK_GAP_COLUMNS, data=task_gap_rows(gaps)),
            "minimax/table": wandb.Table(columns=MINIMAX_COLUMNS, data=minimax_rows(gaps)),
        }
        if gaps.get("seeds"):
            media["gaps/seeds"] = wandb.Table(columns=SEED_COLUMNS, data=seed_rows(gaps))
        for task, d in (gaps.get("difficulty") or {}).items():
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d["values"])
            xs = list(d["values"]) if numeric else list(range(len(d["values"])))
            ys = [[math.nan if m is None else m for m in s["mean"]] for s in d["scores"].values()]
            media[f"difficulty/{task}"] = wandb.plot.line_series(
                xs=xs, ys=ys, keys=list(d["scores"]), title=f"{task}: accuracy vs {d['knob']}",
                xname=d["knob"] if numeric else f"{d['knob']} (level)")
        # custom charts from tables (report/charts.py): error bars and bands, redrawn by W&B from the table
        gap_rows_ = chart_specs.gap_chart_rows(gap_rows(gaps), GAP_COLUMNS)
        media["charts/gap_ci"] = wandb.plot_table(
            self.charts["gap"], wandb.Table(columns=chart_specs.GAP_COLUMNS, data=gap_rows_), chart_specs.GAP_FIELDS,
            {"title": f"gap to {gaps['baseline']} by category, 95% interval"})
        for task, d in (gaps.get("difficulty") or {}).items():
            media[f"charts/difficulty/{task}"] = wandb.plot_table(
                self.charts["difficulty"], wandb.Table(columns=chart_specs.BAND_COLUMNS, data=chart_specs.band_rows(d)),
                chart_specs.BAND_FIELDS, {"title": f"{task}: accuracy vs {d['knob']}, 95% band", "x_title": d["knob"]})
        for key, path in figures.items():
            media[f"plots/{key}"] = wandb.Image(str(path))
        self.run.log(media)
        self.summary(report_summary(gaps))

    def finish(self):
        self.run.finish()


# ---------------------------------------------------------------- the sweep-level run

def _select(cfg, key, default=None):
    from omegaconf import OmegaConf

    try:
        v = OmegaConf.select(cfg, key, default=default, throw_on_resolution_failure=True)
    except Exception:  # an interpolation that only resolves inside a Hydra job
        return default
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


def sweep_group(sweep_dir, cfg) -> str:
    """The W&B group a finished sweep's jobs used, from its saved multirun.yaml: conf/logger/wandb.yaml sets
    `group: ${hydra:sweep.dir}`, so it is `hydra.sweep.dir` as written when it holds no interpolation, else
    (the default `outputs/<suite>/${now:...}`) the sweep directory relative to the launch directory."""
    raw = None
    try:
        from omegaconf import OmegaConf

        raw = OmegaConf.to_container(cfg.hydra.sweep, resolve=False).get("dir")
    except Exception:
        pass
    if raw is not None and "${" not in str(raw):
        return str(raw)
    sweep_dir, cwd = Path(sweep_dir).resolve(), _select(cfg, "hydra.runtime.cwd")
    if cwd and sweep_dir.is_relative_to(Path(cwd).resolve()):
        return str(sweep_dir.relative_to(Path(cwd).resolve()))
    return str(sweep_dir)


def _sweep_suite(sweep_dir, gaps: dict) -> str | None:
    """The suite name the sweep's results.json files give (an inline suite's is derived from its tasks), if one."""
    import json

    names = set()
    for job in gaps.get("scores", {}).values():
        path = Path(sweep_dir) / str(job.get("dir", "")) / "results.json"
        try:
            names.add(json.loads(path.read_text()).get("suite"))
        except (OSError, ValueError):
            continue
    names.discard(None)
    return names.pop() if len(names) == 1 else None


def log_report(sweep_dir, gaps: dict, figures: dict, cfg=None, group: str | None = None) -> Path | None:
    """Log the sweep's report as a W&B run of job_type "report" in the sweep's group, with the sweep's
    logger settings (`cfg` is the sweep config; default: SWEEP_DIR/multirun.yaml). Returns the run's folder,
    or None when the sweep's logger is off."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    if cfg is None:
        path = Path(sweep_dir) / "multirun.yaml"
        cfg = OmegaConf.load(path) if path.is_file() else OmegaConf.create({"logger": {"_target_": f"{__name__}.WandbTracker"}})
    target = _select(cfg, "logger._target_")
    if not target:
        return None
    if str(target).startswith("harness.tracking."):  # a sweep written before the package was named hybrid_eval
        target = f"{__name__}.{str(target).rsplit('.', 1)[1]}"
    cls = get_class(target)
    if not issubclass(cls, WandbTracker):
        return None
    from hybrid_eval.harness.provenance import provenance

    kwargs = {k: v for k in ("mode", "project", "entity", "charts") if (v := _select(cfg, f"logger.{k}")) is not None}
    suite = _sweep_suite(sweep_dir, gaps) or _select(cfg, "suite.name") or "sweep"
    tags = ["report", f"suite:{suite}"] + [t for t in (_select(cfg, "logger.tags") or []) if isinstance(t, str) and "${" not in t]
    tracker = cls(**kwargs, group=group or sweep_group(sweep_dir, cfg), job_dir=str(sweep_dir), run_name="report",
                  job_type="report", tags=list(dict.fromkeys(tags)),
                  run_config={"sweep_dir": str(sweep_dir), "baseline": gaps["baseline"], "jobs": list(gaps["scores"]),
                              "missing": gaps.get("missing", []), "suite": suite, "provenance": provenance()})
    try:
        tracker.report(gaps, figures)
        tracker.report_artifact(suite, sweep_dir)
    finally:
        tracker.finish()
    return tracker.run_dir
