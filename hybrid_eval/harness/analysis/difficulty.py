"""Accuracy against difficulty: for every task that a suite holds under several aliases (the same task at several
knob settings, e.g. fact_chain at 2, 4 and 8 hops), each variant's score per setting, ordered along the knob that
differs, with chance beside it (the difficulty curves of report.md and plots/)."""
from __future__ import annotations

import numpy as np


def _knob_axis(tasks: dict, aliases: list[str]) -> tuple[str, list]:
    """The knob(s) that differ among the aliases of one task, and each alias's value (a string when several differ)."""
    knobs = [tasks[a].get("knobs") or {} for a in aliases]
    keys = sorted({k for kn in knobs for k in kn})
    differ = [k for k in keys if len({repr(kn.get(k)) for kn in knobs}) > 1]
    if len(differ) == 1:
        return differ[0], [kn.get(differ[0]) for kn in knobs]
    if not differ:
        return "alias", list(aliases)
    return ",".join(differ), [",".join(f"{k}={kn.get(k)}" for k in differ) for kn in knobs]


def _sortable(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))


def difficulty(jobs: list[dict]) -> dict:
    """{task: {knob, aliases, values, chance, scores: {variant: {mean, lo, hi, seeds, did_not_train,
    did_not_train_seeds}}}} for every registered task that appears under several aliases. One seed: lo/hi
    is the 95% interval over examples; several seeds: mean over the seeds that trained (all seeds when
    none did) with lo/hi the lowest and highest seed."""
    if not jobs:
        return {}
    by_task: dict[str, list[str]] = {}
    tasks0 = {}
    for j in jobs:
        for alias, v in j["tasks"].items():
            tasks0.setdefault(alias, v)
    for alias, v in tasks0.items():
        by_task.setdefault(v.get("task", alias), []).append(alias)
    out = {}
    for task, aliases in by_task.items():
        if len(aliases) < 2:
            continue
        knob, values = _knob_axis(tasks0, aliases)
        order = sorted(range(len(aliases)), key=lambda i: _sortable(values[i]))
        aliases, values = [aliases[i] for i in order], [values[i] for i in order]
        entry = {"knob": knob, "aliases": aliases, "values": values,
                 "chance": [tasks0[a]["chance"] for a in aliases], "scores": {}}
        variants: dict[str, list[dict]] = {}
        for j in jobs:
            variants.setdefault(j["variant"], []).append(j)
        for variant, all_js in variants.items():
            js = [j for j in all_js if not j.get("did_not_train")] or all_js  # seeds that trained, if any did
            mean, lo, hi = [], [], []
            for a in aliases:
                rows = [j["tasks"][a] for j in js if a in j["tasks"]]
                if not rows:
                    mean.append(None), lo.append(None), hi.append(None)
                    continue
                s = [r["score"] for r in rows]
                mean.append(float(np.mean(s)))
                lo.append(rows[0]["ci95"][0] if len(rows) == 1 else float(min(s)))
                hi.append(rows[0]["ci95"][1] if len(rows) == 1 else float(max(s)))
            entry["scores"][variant] = {"mean": mean, "lo": lo, "hi": hi, "seeds": sorted(j["seed"] for j in js),
                                        "did_not_train": all(j.get("did_not_train") for j in all_js),
                                        "did_not_train_seeds": sorted(j["seed"] for j in all_js if j.get("did_not_train"))}
        out[task] = entry
    return out
