"""Constructed sweeps for the harness tests: job directories as a Hydra multirun leaves them (results.json,
samples.jsonl, .hydra/overrides.yaml, multirun.yaml), with scores chosen so that gaps are known exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hybrid_eval.harness import store
from hybrid_eval.harness.analysis import stats


def paired(n: int, acc: float, worse: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, variant) 0/1 scores on n examples: the variant loses exactly round(worse * n) of the
    baseline's correct answers, so the gap is exactly worse (when acc >= worse)."""
    rng = np.random.default_rng(seed)
    b = (rng.random(n) < acc).astype(float)
    v = b.copy()
    v[np.flatnonzero(b == 1)[: int(round(worse * n))]] = 0
    return b, v


def task(name: str, category: str, scores, chance: float = 0.1, context_guess: float | None = None, **knobs) -> dict:
    return {"task": name, "category": category, "chance": chance, "context_guess": context_guess, "knobs": knobs,
            "scores": np.asarray(scores, float)}


def write_job(sweep: Path, pattern: str, seed: int, tasks: dict[str, dict], *, did_not_train: bool | None = None,
              loss_curve=None, size: str = "tiny", family: str = "qwen3_next") -> Path:
    """One complete job; `tasks` maps an alias to `task(...)`."""
    d = Path(sweep) / f"model.pattern={pattern},seed={seed}"
    (d / ".hydra").mkdir(parents=True, exist_ok=True)
    (d / ".hydra" / "overrides.yaml").write_text(f"- model.pattern={pattern}\n- seed={seed}\n")
    samples, out_tasks, cats = [], {}, {}
    for alias, t in tasks.items():
        s = t["scores"]
        samples += [{"task": alias, "id": f"{alias}-test-{i}", "prompt_hash": f"{i:016x}", "outputs": [""], "golds": [""],
                     "score": float(x)} for i, x in enumerate(s)]
        est, lo, hi = stats.mean_ci([s])
        out_tasks[alias] = {"task": t["task"], "category": t["category"], "score": est, "ci95": [lo, hi], "n": len(s),
                            "chance": t["chance"], "context_guess": t["context_guess"], "knobs": t["knobs"]}
        cats.setdefault(t["category"], []).append(s)
    curve = loss_curve if loss_curve is not None else [[10 * (i + 1), 5.0 - 0.3 * i] for i in range(10)]
    results = {
        "model": {"family": family, "pattern": pattern, "size": size, "params": 1000 + len(pattern),
                  "layer_types": ["full_attention" if c == "F" else "linear_attention" for c in pattern]},
        "suite": "constructed", "seed": seed, "tasks": out_tasks,
        "categories": {c: stats.mean_ci(g)[0] for c, g in cats.items()},
        "category_ci95": {c: list(stats.mean_ci(g)[1:]) for c, g in cats.items()},
        "train": {"steps": curve[-1][0], "warmup_steps": 10, "batch_size": 4, "lr": 3e-3, "tokens": 1234, "seconds": 1.0,
                  "epochs": 4.0, "initial_loss": curve[0][1], "final_loss": curve[-1][1], "val_loss": curve[-1][1] + 1.0,
                  "loss_curve": curve},
        "complete": True,
    }
    if did_not_train is not None:
        results["did_not_train"] = did_not_train
    store.write_results(d, results, samples, fingerprint={})  # with the samples' integrity record, as run_job
    return d


def write_multirun_yaml(sweep: Path, patterns: str, seeds: str) -> None:
    """The multirun.yaml Hydra's basic sweeper saves: sweeper params and command-line overrides."""
    (Path(sweep) / "multirun.yaml").write_text(
        "hydra:\n"
        f"  sweep:\n    dir: {sweep}\n    subdir: x\n"
        f"  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n    max_batch_size: null\n"
        f"    params:\n      model.pattern: {patterns}\n"
        f"  overrides:\n    task:\n    - seed={seeds}\n"
        "  runtime:\n    cwd: /tmp\n"
        "logger:\n  _target_: hybrid_eval.harness.report.tracking.WandbTracker\n  mode: offline\n  project: hybrid-eval\n  entity: null\n"
        "  group: ${hydra:sweep.dir}\n  tags: []\n"
    )
