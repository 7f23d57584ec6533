"""The headline of a study: one row per system (a family's pattern at one size, over its training seeds), the gap to
the sweep's baseline per category with a 95% interval over test examples *and* seeds, the MiniMax verdict over
seeds, and, for tasks run at several difficulties, the gap per rung.

A category's gap is taken over the tasks the baseline learned in every seed of the comparison (analysis/learned.py):
a task the baseline did not learn in some seed says nothing about the mixer in that seed, and mixing seeds judged
on different tasks would make the mean meaningless. With no such task the category is ``undecided``, with the
reason. Jobs that did not train (or whose baseline did not) are left out and named.

The interval is a two-level bootstrap (:func:`pooled_gap`): each replicate draws the seeds with replacement, then
each drawn seed's test examples within each task (paired, so the baseline's and the variant's answers to one example
stay together). With one seed it is the per-example interval of gaps.json.
"""
from __future__ import annotations

import numpy as np

from hybrid_eval.harness.analysis import stats
from hybrid_eval.harness.analysis.baselines import find_baseline, is_baseline
from hybrid_eval.harness.analysis.gaps import paired_scores
from hybrid_eval.harness.analysis.learned import unlearned_reason
from hybrid_eval.harness.analysis.minimax import combine_verdicts
from hybrid_eval.models import presets

CATEGORIES = ("short", "long_context", "reasoning", "multi_turn")


def pooled_gap(per_seed: list[list[tuple]], n_boot: int = stats.N_BOOT, seed: int = 0,
               level: float = 0.95) -> tuple[float, float, float]:
    """(gap, lo, hi) of one category over seeds. ``per_seed[s]`` lists one ``(baseline scores, variant scores)``
    pair per task (the same tasks in every seed). The gap is the mean over seeds of the category gap (the mean over
    tasks of the mean paired difference); the interval resamples seeds, then examples within each task."""
    if not per_seed or not all(per_seed):
        raise ValueError("pooled_gap needs at least one seed, each with at least one task")
    rng = np.random.default_rng(seed)
    diffs = [[np.asarray(b, float) - np.asarray(v, float) for b, v in tasks] for tasks in per_seed]
    estimate = float(np.mean([np.mean([d.mean() for d in tasks]) for tasks in diffs]))
    n_seeds = len(diffs)
    # every seed's own example-bootstrap replicates, n_boot x n_seeds of them, so two draws of one seed differ
    reps = np.stack([stats.stratified_bootstrap(tasks, n_boot * n_seeds, rng) for tasks in diffs])
    drawn = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    columns = np.arange(n_boot * n_seeds).reshape(n_boot, n_seeds)
    boot = reps[drawn, columns].mean(axis=1)
    a = (1 - level) / 2
    return estimate, float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))


def _changed_knobs(model: dict) -> dict:
    """The model knobs a job set away from its family's default (models/family.py `knobs`), in the family's order."""
    import hybrid_eval.models.catalog  # noqa: F401  (registers the families)
    from hybrid_eval.models.family import FAMILIES

    defaults = FAMILIES[model["family"]].knobs if model["family"] in FAMILIES else {}
    return {k: model[k] for k, default in defaults.items() if k in model and model[k] != default}


def _system(job: dict) -> str:
    """`family:pattern:size`, plus `[knob=value,...]` for each model knob the job set away from its family's default
    (`kimi_linear:F:base[rope=True]`, an S pattern's `window=128`), so systems that differ in a model knob are named
    apart."""
    m = job["model"]
    changed = ",".join(f"{k}={v}" for k, v in _changed_knobs(m).items())
    return f"{m['family']}:{m['pattern']}:{m['size']}" + (f"[{changed}]" if changed else "")


def _preset(job: dict) -> str | None:
    """The named seed system the variant is (models/presets.py): the job's own preset, else the one of its layout,
    unless a knob other than the window (a preset holds at any window) makes it another system (Kimi's rope)."""
    m = job["model"]
    if m.get("preset"):
        return m["preset"]
    if set(_changed_knobs(m)) - {"window"}:
        return None
    return presets.name_of(m["family"], m["pattern"])


def _steps(job: dict) -> int | None:
    return (job.get("train") or {}).get("steps")


def rows(gaps: dict, jobs: list[dict], baseline: str) -> list[dict]:
    """One headline row per variant of a sweep (``gaps`` = gaps.json content, ``jobs`` = its loaded jobs)."""
    by_variant: dict[str, list[dict]] = {}
    for job in jobs:
        if job.get("baseline_of") is None and not is_baseline(job, jobs, baseline):
            by_variant.setdefault(job["variant"], []).append(job)
    out = []
    for variant, members in by_variant.items():
        members.sort(key=lambda j: j["seed"])
        pairs, left_out = [], []
        for job in members:
            base = find_baseline(job, jobs, baseline)
            if job.get("did_not_train") or base is None or base.get("did_not_train"):
                why = ("did not train" if job.get("did_not_train") else
                       f"no {baseline} job of the same seed" if base is None else f"its baseline `{base['name']}` did not train")
                left_out.append(f"seed {job['seed']}: {why}")
                continue
            pairs.append((job, base))
        row = {"system": _system(members[0]), "preset": _preset(members[0]), "variant": variant, "baseline": baseline,
               "seeds": [j["seed"] for j, _ in pairs], "left_out": left_out,
               "steps": sorted({s for j, b in pairs for s in (_steps(j), _steps(b)) if s is not None}),
               "categories": {}, "minimax": None, "difficulty": {}, "accuracy": {}}
        if pairs:
            row["categories"] = _categories(pairs)
            row["accuracy"] = _accuracy(row["categories"], pairs)
            verdicts = {j["seed"]: gaps["variants"][j["name"]]["minimax"]["verdict"] for j, _ in pairs
                        if "minimax" in gaps["variants"].get(j["name"], {})}
            if verdicts:
                row["minimax"] = combine_verdicts(verdicts)
            row["difficulty"] = _difficulty(gaps, pairs)
        out.append(row)
    return out


def _categories(pairs: list[tuple[dict, dict]]) -> dict:
    """{category: {gap, ci95, n, tasks, left_out} or {undecided: reason}} over the seeds in ``pairs``."""
    scored = [paired_scores(base, job) for job, base in pairs]
    job0 = pairs[0][0]
    result = {}
    for cat in sorted({v["category"] for v in job0["tasks"].values()}, key=_category_order):
        tasks = [t for t, v in job0["tasks"].items() if v["category"] == cat and all(t in s for s in scored)]
        learned, why = [], {}
        for t in tasks:
            reasons = [f"seed {base['seed']}: {r}" for _, base in pairs
                       if (r := unlearned_reason(base["tasks"][t])) is not None]
            if reasons:
                why[t] = "; ".join(reasons)
            else:
                learned.append(t)
        if not learned:
            result[cat] = {"undecided": "the baseline did not learn any of its tasks in every seed: "
                                        + "; ".join(f"{t} ({w})" for t, w in why.items()), "tasks": tasks}
            continue
        gap, lo, hi = pooled_gap([[s[t] for t in learned] for s in scored])
        result[cat] = {"gap": gap, "ci95": [lo, hi], "distinguishable": stats.distinguishable(lo, hi),
                       "n": int(sum(len(s[t][0]) for s in scored for t in learned)), "tasks": learned,
                       "left_out": {t: why[t] for t in tasks if t in why}}
    return result


def _accuracy(categories: dict, pairs: list[tuple[dict, dict]]) -> dict:
    """{task: {"baseline": score, "system": score}}, means over the seeds in ``pairs``, for every task a category's gap
    was measured on (the tasks the baseline learned in every seed), in the categories' order."""
    learned = [t for c in categories.values() if "gap" in c for t in c["tasks"]]
    return {t: {"baseline": float(np.mean([base["tasks"][t]["score"] for _, base in pairs])),
                "system": float(np.mean([job["tasks"][t]["score"] for job, _ in pairs]))} for t in learned}


def _category_order(cat: str) -> tuple:
    return (CATEGORIES.index(cat) if cat in CATEGORIES else len(CATEGORIES), cat)


def _difficulty(gaps: dict, pairs: list[tuple[dict, dict]]) -> dict:
    """{task: {knob, values, gap: [mean over seeds per rung, None where the baseline did not learn it in a seed]}}."""
    out = {}
    for task, entry in (gaps.get("difficulty") or {}).items():
        per_rung = []
        for alias in entry["aliases"]:
            seeds = [gaps["variants"][j["name"]]["tasks"].get(alias) for j, _ in pairs]
            per_rung.append(None if any(s is None for s in seeds) else float(np.mean([s["gap"] for s in seeds])))
        out[task] = {"knob": entry["knob"], "values": entry["values"], "gap": per_rung}
    return out
