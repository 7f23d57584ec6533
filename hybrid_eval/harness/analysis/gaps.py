"""Gaps to the baseline: for every variant, baseline − variant per task and per category, with paired
bootstrap intervals over the identical test examples (matched by example id and prompt hash); their
spread over training seeds; and gaps.json, which composes them with the MiniMax check (minimax.py),
accuracy against difficulty (difficulty.py) and the training budgets (budgets.py).

Which job is a variant's baseline: baselines.py; how jobs are named: variants.py; which jobs a sweep
directory holds and misses: sweep_jobs.py. A job whose results.json says `did_not_train: true` gets no
gap (nor does any job compared with such a baseline): a probe that never left chance measures the
optimiser, not the architecture (docs/design.md §7). Nor does a task the baseline did not learn (its interval not
above chance and the context guess, learned.py): that gap is withheld under `undecided` with the reason, and a
category's gap is taken over the tasks the baseline learned.
"""
from __future__ import annotations

import numpy as np

from hybrid_eval.harness.analysis import stats
from hybrid_eval.harness.analysis.baselines import find_baseline, is_baseline
from hybrid_eval.harness.analysis.budgets import budgets, train_summary
from hybrid_eval.harness.analysis.difficulty import difficulty
from hybrid_eval.harness.analysis.learned import unlearned_reason
from hybrid_eval.harness.analysis.minimax import combine_verdicts, minimax_check
from hybrid_eval.harness.analysis.sweep_jobs import damaged_files, expected_jobs, incomplete_dirs, load_jobs, missing_jobs
from hybrid_eval.harness.analysis.variants import name_jobs


def _scores_by_task(job) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in job["samples"]:
        out.setdefault(s["task"], {})[f"{s['id']}|{s['prompt_hash']}"] = s["score"]
    return out


def paired_scores(base, job) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{task: (baseline scores, variant scores)} over the examples both jobs scored (same id and prompt hash), in the
    variant's task order; tasks without a common example are left out."""
    b_scores, out = _scores_by_task(base), {}
    for t, v_map in _scores_by_task(job).items():
        keys = sorted(set(v_map) & set(b_scores.get(t, {})))
        if keys:
            out[t] = (np.array([b_scores[t][k] for k in keys]), np.array([v_map[k] for k in keys]))
    return out


def _gap_of_job(job, base, baseline) -> dict:
    """The gaps.json entry of one job against its baseline job."""
    if base is None:
        return {"baseline_job": None, "note": f"no {baseline} job with the same family, size, seed and overrides"}
    if base.get("did_not_train"):
        return {"baseline": base["name"], "baseline_job": base["dir"], "baseline_did_not_train": True,
                "note": f"its baseline `{base['name']}` did not train; no gap"}
    tasks, cat_pairs, cat_tasks = {}, {}, {}
    unlearned: dict[str, str] = {}  # task -> why the baseline did not learn it (its gap is withheld)
    for t, (bv, vv) in paired_scores(base, job).items():
        cat = job["tasks"][t]["category"]
        cat_tasks.setdefault(cat, []).append(t)
        why = unlearned_reason(base["tasks"][t]) if t in base["tasks"] else None
        if why:
            unlearned[t] = why
            continue
        gap, lo, hi = stats.paired_gap([bv], [vv])
        tasks[t] = {"category": cat, "gap": gap, "ci95": [lo, hi], "n": len(bv),
                    "distinguishable": stats.distinguishable(lo, hi)}
        cat_pairs.setdefault(cat, ([], []))
        cat_pairs[cat][0].append(bv)
        cat_pairs[cat][1].append(vv)
    left_out = {c: [f"{t} {unlearned[t]}" for t in ts if t in unlearned] for c, ts in cat_tasks.items()}
    cats = {}
    for c, (bs, vs) in cat_pairs.items():
        gap, lo, hi = stats.paired_gap(bs, vs)
        cats[c] = {"gap": gap, "ci95": [lo, hi], "n": int(sum(len(b) for b in bs)),
                   "distinguishable": stats.distinguishable(lo, hi), "left_out": [t for t in cat_tasks[c] if t in unlearned]}
    who = f"baseline `{base['name']}`"
    undecided = {"tasks": {t: f"{who} {why}" for t, why in unlearned.items()},
                 "categories": {c: f"{who} learned none of its tasks: " + "; ".join(left_out[c])
                                for c in cat_tasks if c not in cats}}
    return {"baseline": base["name"], "baseline_job": base["dir"], "tasks": tasks, "categories": cats,
            "undecided": undecided, "minimax": minimax_check(cat_pairs, left_out=left_out)}


def _seed_stats(jobs, names, out, baseline) -> dict:
    """Per variant with several seeds: spread of scores, of every gap (per seed against the same-seed
    baseline) and the MiniMax verdicts over seeds."""
    by_variant: dict[str, list[tuple[str, dict]]] = {}
    for name, j in zip(names, jobs):
        by_variant.setdefault(j["variant"], []).append((name, j))
    res = {}
    for variant, members in by_variant.items():
        if len({j["seed"] for _, j in members}) < 2:
            continue
        members.sort(key=lambda m: m[1]["seed"])
        entry = {"seeds": [j["seed"] for _, j in members],
                 "did_not_train_seeds": [j["seed"] for _, j in members if j.get("did_not_train")]}
        tasks = {t for _, j in members for t in j["tasks"]}
        entry["scores"] = {
            "tasks": {t: stats.seed_spread(j["tasks"][t]["score"] for _, j in members if t in j["tasks"]) for t in sorted(tasks)},
            "categories": {c: stats.seed_spread(j["categories"][c] for _, j in members if c in j["categories"])
                           for c in sorted({c for _, j in members for c in j["categories"]})},
        }
        gapped = [(name, j) for name, j in members if "tasks" in out["variants"].get(name, {})]
        if members[0][1]["model"]["pattern"] != baseline and gapped:
            entry["gap_seeds"] = [j["seed"] for _, j in gapped]
            g = {"tasks": {}, "categories": {}}
            for level in ("tasks", "categories"):
                keys = sorted({k for name, _ in gapped for k in out["variants"][name][level]})
                for k in keys:
                    per = {j["seed"]: out["variants"][name][level][k]["gap"] for name, j in gapped
                           if k in out["variants"][name][level]}
                    g[level][k] = stats.seed_spread(per.values()) | {"per_seed": per}
            entry["gaps"] = g
            entry["minimax"] = combine_verdicts({j["seed"]: out["variants"][name]["minimax"]["verdict"] for name, j in gapped})
        res[variant] = entry
    return res


def compute(jobs: list[dict], baseline: str = "F", missing: list[str] | None = None,
            incomplete: list[str] | None = None) -> dict:
    """gaps.json content:

    {baseline, scores: {name: {...per-task and per-category scores, train summary}},
     variants: {name: {baseline_job, tasks: {alias: {gap, ci95, n}}, categories: {...}, minimax} or
                      {did_not_train: true, note}},
     seeds: {variant: {seeds, scores, gaps: {tasks|categories: {k: {mean, std, min, max, n, per_seed}}}, minimax}},
     difficulty: {task: {...}}, learned_by_none: {alias: why}, budgets: [{comparison, jobs, shared, differs}],
     missing: [...], incomplete: [...]}
    """
    names = name_jobs(jobs)
    for name, job in zip(names, jobs):
        job["name"] = name
    out = {"baseline": baseline, "variants": {}, "scores": {}, "seeds": {}, "difficulty": {},
           "missing": list(missing or []), "incomplete": list(incomplete or [])}
    for name, job in zip(names, jobs):
        out["scores"][name] = {
            "dir": job["dir"],
            "variant": job["variant"],
            "model": {k: job["model"].get(k) for k in ("family", "pattern", "size", "params")},
            "seed": job["seed"],
            "did_not_train": bool(job.get("did_not_train", False)),
            "tasks": {t: {k: v.get(k) for k in ("task", "knobs", "category", "score", "ci95", "n", "chance", "context_guess")}
                      | {"task": v.get("task", t)} for t, v in job["tasks"].items()},
            "categories": job["categories"],
            "category_ci95": job.get("category_ci95", {}),
            "train": train_summary(job),
            # model=endpoint: examples whose request the server rejected (scored 0; harness/evaluate/endpoint_scoring.py)
            "errors": {t: v["errors"] for t, v in job["tasks"].items() if v.get("errors")},
        }
    for name, job in zip(names, jobs):
        if is_baseline(job, jobs, baseline):
            continue
        head = {"variant": job["variant"], "seed": job["seed"]}
        if job.get("did_not_train"):
            out["variants"][name] = head | {"did_not_train": True, "baseline_job": None,
                                            "note": "did not train; excluded from gap statistics"}
            continue
        out["variants"][name] = head | _gap_of_job(job, find_baseline(job, jobs, baseline), baseline)
    out["seeds"] = _seed_stats(jobs, names, out, baseline)
    out["difficulty"] = difficulty(jobs)
    out["learned_by_none"] = learned_by_none(jobs)
    out["budgets"] = budgets(jobs)
    return out


def learned_by_none(jobs: list[dict]) -> dict[str, str]:
    """{alias: why} for every task that no job that trained learned (analysis/learned.py's rule applied to every
    variant and seed, not only the baseline): such a task shows nothing about the mixers at this budget, in either
    direction, and the report names it instead of a gap."""
    trained = [j for j in jobs if not j.get("did_not_train") and j.get("baseline_of") is None]
    aliases = list(dict.fromkeys(a for j in trained for a in j["tasks"]))
    out = {}
    for alias in aliases:
        rows = [j["tasks"][alias] for j in trained if alias in j["tasks"]]
        if rows and all(unlearned_reason(r) for r in rows):
            best = max(rows, key=lambda r: r["score"])
            out[alias] = f"best job {unlearned_reason(best)}"
    return out


def for_sweep(sweep_dir, baseline: str = "F") -> tuple[dict, list[dict]]:
    """(gaps.json content, complete jobs) for a sweep directory, with the jobs still missing named."""
    jobs = load_jobs(sweep_dir)
    missing = missing_jobs(expected_jobs(sweep_dir), jobs)
    out = compute(jobs, baseline, missing=missing, incomplete=incomplete_dirs(sweep_dir))
    out["damaged"] = damaged_files(sweep_dir)  # left out of every number above, named in the report
    return out, jobs
