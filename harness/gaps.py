"""Gaps to the baseline: for every variant, baseline − variant per task and per category, with paired
bootstrap intervals over the identical test examples (matched by example id and prompt hash).

The baseline of a variant is the job of the same family, size and seed whose pattern is `baseline`
(default `F`, full attention).
"""
from __future__ import annotations

from pathlib import Path

from harness import stats, store


def load_jobs(sweep_dir) -> list[dict]:
    """Every complete job under `sweep_dir` (one level down), with its samples and its directory."""
    jobs = []
    for d in sorted(Path(sweep_dir).iterdir()):
        if d.is_dir() and store.is_complete(d):
            res = store.read_json(d / store.RESULTS)
            res["samples"] = store.read_jsonl(d / store.SAMPLES)
            res["dir"] = d.name
            jobs.append(res)
    return jobs


def variant_name(job: dict, with_seed: bool) -> str:
    m = job["model"]
    name = f"{m['family']}:{m['pattern']}:{m['size']}"
    return f"{name}:seed{job['seed']}" if with_seed else name


def _scores_by_task(job) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in job["samples"]:
        out.setdefault(s["task"], {})[f"{s['id']}|{s['prompt_hash']}"] = s["score"]
    return out


def compute(jobs: list[dict], baseline: str = "F") -> dict:
    """gaps.json content: {baseline, variants: {name: {tasks: {t: {gap, ci95, n}}, categories: {...}}}}."""
    with_seed = len({j["seed"] for j in jobs}) > 1
    names = [variant_name(j, with_seed) for j in jobs]
    if len(set(names)) < len(names):  # variants differ in something else (a swept knob): name them by directory
        names = [j["dir"] for j in jobs]
    out = {"baseline": baseline, "variants": {}, "scores": {}}
    for name, job in zip(names, jobs):
        out["scores"][name] = {
            "model": {k: job["model"][k] for k in ("family", "pattern", "size", "params")},
            "seed": job["seed"],
            "tasks": {t: {k: v[k] for k in ("category", "score", "ci95", "n", "chance")} for t, v in job["tasks"].items()},
            "categories": job["categories"],
        }
    for name, job in zip(names, jobs):
        m = job["model"]
        if m["pattern"] == baseline:
            continue
        base = [b for b in jobs if b["model"]["pattern"] == baseline and b["seed"] == job["seed"]
                and b["model"]["family"] == m["family"] and b["model"]["size"] == m["size"]]
        if not base:
            out["variants"][name] = {"baseline_job": None, "note": f"no {baseline} job with the same family, size and seed"}
            continue
        b_scores, v_scores = _scores_by_task(base[0]), _scores_by_task(job)
        tasks, cat_groups = {}, {}
        for t, v_map in v_scores.items():
            b_map = b_scores.get(t, {})
            keys = sorted(set(v_map) & set(b_map))
            if not keys:
                continue
            bv, vv = [b_map[k] for k in keys], [v_map[k] for k in keys]
            gap, lo, hi = stats.paired_gap([bv], [vv])
            cat = job["tasks"][t]["category"]
            tasks[t] = {"category": cat, "gap": gap, "ci95": [lo, hi], "n": len(keys)}
            cat_groups.setdefault(cat, ([], []))
            cat_groups[cat][0].append(bv)
            cat_groups[cat][1].append(vv)
        cats = {}
        for c, (bs, vs) in cat_groups.items():
            gap, lo, hi = stats.paired_gap(bs, vs)
            cats[c] = {"gap": gap, "ci95": [lo, hi], "distinguishable": not (lo <= 0 <= hi)}
        out["variants"][name] = {"baseline_job": base[0]["dir"], "tasks": tasks, "categories": cats}
    return out
