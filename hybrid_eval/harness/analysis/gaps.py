"""Gaps to the baseline: for every variant, baseline − variant per task and per category, with paired
bootstrap intervals over the identical test examples (matched by example id and prompt hash); their
spread over training seeds; accuracy against difficulty; and the MiniMax check.

The baseline of a job is the job of the same family, size and seed whose pattern is `baseline` (default
`F`, full attention) and that agrees on every other swept override (a swept learning rate or task knob).
A job whose results.json says `did_not_train: true` gets no gap (nor does any job compared with such a
baseline): a probe that never left chance measures the optimiser, not the architecture (DESIGN §7).

Names: a job is `family:pattern:size` (its *variant*), plus `[key=value,...]` for other overrides that vary
across the sweep, plus `:seedN` when the sweep has several training seeds.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from hybrid_eval.harness.train import protocol
from hybrid_eval.harness.analysis import stats
from hybrid_eval.harness import store

CONTROL = "short"
TARGETS = ("reasoning", "multi_turn")
SMALL = 0.05     # a control gap below 5 points counts as small
EFFECT = 0.10    # the gap size the check must be able to see: 10 points
# overrides that never make a variant (they change where or how a job runs, not what it is)
NOT_VARIANT = ("seed", "model.pattern", "model.family", "model.size", "device", "threads", "cache_dir",
               "logger", "experiment")


# ---------------------------------------------------------------- loading a sweep directory

BASELINE_DIR = "baseline"  # a pretrained job's subfolder holding model.baseline_path's results

def _overrides(d: Path) -> list[str] | None:
    path = d / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.load(path)]


def load_jobs(sweep_dir) -> list[dict]:
    """Every complete job under `sweep_dir` (one level down), with its samples, directory and overrides.

    A pretrained job's named baseline (`model.baseline_path`, evaluated into `<job>/baseline/`) is loaded too,
    marked `baseline_of` its job; a single run's directory is itself a job, with its baseline below it.
    """
    root = Path(sweep_dir)
    dirs = [root] if store.is_complete(root) else sorted(d for d in root.iterdir() if d.is_dir())
    jobs = []
    for d in dirs:
        if not store.is_complete(d):
            continue
        for job_dir, of in ((d, None), (d / BASELINE_DIR, d.name)):
            if of is not None and not store.is_complete(job_dir):
                continue
            res = store.read_json(job_dir / store.RESULTS)
            res["samples"] = store.read_jsonl(job_dir / store.SAMPLES)
            res["dir"] = job_dir.name if of is None else f"{d.name}/{BASELINE_DIR}"
            res["overrides"] = _overrides(d)
            res["baseline_of"] = of
            jobs.append(res)
    return jobs


def incomplete_dirs(sweep_dir) -> list[str]:
    """Job directories that started (Hydra wrote .hydra/ or a results file exists) but are not complete."""
    out = []
    for d in sorted(Path(sweep_dir).iterdir()):
        if d.is_dir() and ((d / ".hydra").is_dir() or (d / store.RESULTS).exists()) and not store.is_complete(d):
            out.append(d.name)
    return out


def expected_jobs(sweep_dir) -> list[list[str]] | None:
    """The override list of every job of the sweep, as Hydra's basic sweeper expands `multirun.yaml`
    (sweeper params, then command-line overrides); None when unknown (no multirun.yaml, another sweeper)."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(path)
        sweeper = cfg.hydra.sweeper
        if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
            return None
        args = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
        args += [str(o) for o in cfg.hydra.overrides.task]
        parsed = OverridesParser.create().parse_overrides(args)
        return [list(job) for job in BasicSweeper.split_arguments(parsed, None)[0]]
    except Exception:  # an unreadable or unusual multirun.yaml: report nothing rather than guess
        return None


def missing_jobs(expected: list[list[str]] | None, jobs: list[dict]) -> list[str]:
    """Expected jobs without a complete result, each as its swept overrides (`model.pattern=L seed=1`)."""
    if not expected:
        return []
    found = {frozenset(j["overrides"]) for j in jobs if j.get("overrides") is not None}
    values: dict[str, set[str]] = {}
    for o in itertools.chain(*expected):
        key, _, value = o.partition("=")
        values.setdefault(key, set()).add(value)
    swept = {k for k, v in values.items() if len(v) > 1}
    return [" ".join(o for o in job if o.partition("=")[0] in swept) or " ".join(job)
            for job in expected if frozenset(job) not in found]


# ---------------------------------------------------------------- naming

def variant_name(job: dict, with_seed: bool) -> str:
    m = job["model"]
    name = f"{m['family']}:{m['pattern']}:{m['size']}"
    return f"{name}:seed{job['seed']}" if with_seed else name


def _name_jobs(jobs: list[dict]) -> list[str]:
    """Sets job["variant"] and job["context"] (the swept overrides beyond the model, for matching baselines)
    and returns each job's name."""
    ov = [dict(o.split("=", 1) for o in (j.get("overrides") or []) if "=" in o) for j in jobs]
    keys = sorted({k for d in ov for k in d if k not in NOT_VARIANT and not k.startswith(("hydra", "logger."))})
    varying = [k for k in keys if len({d.get(k) for d in ov}) > 1]
    for j, d in zip(jobs, ov):
        j["context"] = ",".join(f"{k}={d.get(k)}" for k in varying)
        j["variant"] = variant_name(j, False) + (f"[{j['context']}]" if varying else "")
    with_seed = len({j["seed"] for j in jobs}) > 1
    names = [j["variant"] + (f":seed{j['seed']}" if with_seed else "") for j in jobs]
    if len(set(names)) < len(names):  # jobs differ in something no override shows: name them by directory
        for j in jobs:
            j["variant"], j["context"] = j["dir"], j["dir"]
        names = [j["dir"] for j in jobs]
    return names


def _scores_by_task(job) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in job["samples"]:
        out.setdefault(s["task"], {})[f"{s['id']}|{s['prompt_hash']}"] = s["score"]
    return out


def baseline_pattern(family: str, jobs: list[dict], baseline: str) -> str:
    """`baseline`, or the family's reference variant when no job of the family has that pattern
    (DeepSeek-V3.2's variants are `dense` / `sparse`: its baseline is `dense`)."""
    if any(j["model"]["family"] == family and j["model"]["pattern"] == baseline for j in jobs):
        return baseline
    import hybrid_eval.models.catalog  # noqa: F401  (registers the families)
    from hybrid_eval.models.family import FAMILIES

    return FAMILIES[family].reference_pattern if family in FAMILIES else baseline


def is_baseline(job: dict, jobs: list[dict], baseline: str) -> bool:
    if job.get("baseline_of"):
        return True
    return job["model"]["pattern"] == baseline_pattern(job["model"]["family"], jobs, baseline)


def _find_baseline(job: dict, jobs: list[dict], baseline: str) -> dict | None:
    for b in jobs:  # a pretrained job's named baseline checkpoint
        if b.get("baseline_of") and b["baseline_of"] == job["dir"]:
            return b
    m = job["model"]
    pattern = baseline_pattern(m["family"], jobs, baseline)
    for b in jobs:
        bm = b["model"]
        if (bm["pattern"] == pattern and b["seed"] == job["seed"] and bm["family"] == m["family"]
                and bm["size"] == m["size"] and b.get("context") == job.get("context") and not b.get("baseline_of")):
            return b
    return None


# ---------------------------------------------------------------- the MiniMax check

def minimax_check(cat_pairs: dict[str, tuple[list, list]], control: str = CONTROL, targets=TARGETS,
                  small: float = SMALL, effect: float = EFFECT, n_boot: int = stats.N_BOOT, seed: int = 0) -> dict:
    """Does the variant lose more on reasoning / multi-turn work than on the control, as MiniMax reported
    for its hybrid attention? `cat_pairs` maps a category to (baseline groups, variant groups), one score
    array per task, aligned example by example (as `stats.paired_gap` takes them).

    Gaps g (baseline − variant) and their 95% paired-bootstrap intervals [lo, hi] per category; for each
    target T present, the difference d_T = g_T − g_control with its 95% interval [dlo, dhi] (independent
    resamples, `stats.gap_difference`); n = paired examples in the category; N = `stats.n_to_detect(effect)`
    = 393 examples, enough to see a 10-point gap.

    - "holds" when the control is clean — its interval contains 0 or |g_control| < `small` (5 points) —
      AND some target T has lo_T > 0 (worse than the baseline) AND dlo_T > 0 (worse than on the control).
    - "fails" when it does not hold AND either every target has dhi_T < 0 (each target gap is below the
      control's), or every gap (control and targets) has an interval containing 0 while every target has
      n_T >= N and hi_T < `effect` (the data could have seen a 10-point gap and exclude one).
    - "undecided" otherwise, and when the control or every target category is absent.

    Returns {"verdict", "reason", "control": {category, gap, ci95, n, clean}, "targets": {T: {gap, ci95,
    n, significant, powered, diff, diff_ci95}}, "rule": {small, effect, n_powered}}.
    """
    n_powered = stats.n_to_detect(effect)
    rule = {"control": control, "targets": list(targets), "small": small, "effect": effect, "n_powered": n_powered}
    present = [t for t in targets if t in cat_pairs]
    if control not in cat_pairs or not present:
        return {"verdict": "undecided", "control": None, "targets": {}, "rule": rule,
                "reason": f"needs a `{control}` category and one of {', '.join(targets)}; have {', '.join(sorted(cat_pairs)) or 'none'}"}

    def gap(cat):  # the same intervals as the category table (same bootstrap seed)
        b, v = cat_pairs[cat]
        g, lo, hi = stats.paired_gap(b, v, n_boot, seed)
        return {"gap": g, "ci95": [lo, hi], "n": int(sum(len(x) for x in b))}

    c = {"category": control, **gap(control)}
    c["clean"] = bool(not stats.distinguishable(*c["ci95"]) or abs(c["gap"]) < small)
    ts = {}
    for t in present:
        g = gap(t)
        d, dlo, dhi = stats.gap_difference(cat_pairs[t], cat_pairs[control], n_boot, seed)
        ts[t] = {**g, "significant": bool(g["ci95"][0] > 0), "powered": bool(g["n"] >= n_powered and g["ci95"][1] < effect),
                 "diff": d, "diff_ci95": [dlo, dhi]}

    def fmt(x):
        return f"{100 * x:+.1f}"

    def show(name, v):
        return f"{name} gap {fmt(v['gap'])} [{fmt(v['ci95'][0])}, {fmt(v['ci95'][1])}] (n={v['n']})"

    ctrl = show(control, c)
    holds = [t for t, v in ts.items() if v["significant"] and v["diff_ci95"][0] > 0]
    if c["clean"] and holds:
        t = holds[0]
        v = ts[t]
        reason = (f"{show(t, v)} exceeds the control's by {fmt(v['diff'])} [{fmt(v['diff_ci95'][0])}, "
                  f"{fmt(v['diff_ci95'][1])}]; {ctrl} is clean")
        verdict = "holds"
    elif all(v["diff_ci95"][1] < 0 for v in ts.values()):
        verdict = "fails"
        reason = "; ".join(f"{show(t, v)} is below the control's by {fmt(-v['diff'])} "
                           f"[{fmt(-v['diff_ci95'][1])}, {fmt(-v['diff_ci95'][0])}]" for t, v in ts.items()) + f"; {ctrl}"
    elif (not stats.distinguishable(*c["ci95"]) and all(not stats.distinguishable(*v["ci95"]) for v in ts.values())
          and all(v["powered"] for v in ts.values())):
        verdict = "fails"
        reason = (f"no gap: {ctrl}; " + "; ".join(show(t, v) for t, v in ts.items())
                  + f"; every target has n >= {n_powered} and excludes a {100 * effect:.0f}-point gap")
    else:
        verdict = "undecided"
        why = []
        if not c["clean"]:
            why.append(f"the control is not clean ({ctrl})")
        for t, v in ts.items():
            if not v["significant"]:
                why.append(f"{show(t, v)} is not above 0" + ("" if v["powered"] else
                           f" and cannot exclude a {100 * effect:.0f}-point gap (needs n >= {n_powered} and hi < {100 * effect:.0f})"))
            elif v["diff_ci95"][0] <= 0:
                why.append(f"{show(t, v)} is not above the control's (difference {fmt(v['diff'])} "
                           f"[{fmt(v['diff_ci95'][0])}, {fmt(v['diff_ci95'][1])}])")
        reason = "; ".join(why) or ctrl
    return {"verdict": verdict, "reason": reason, "control": c, "targets": ts, "rule": rule}


def combine_verdicts(per_seed: dict) -> dict:
    """One verdict over training seeds: the seeds' common verdict, or "undecided" when they disagree."""
    verdicts = set(per_seed.values())
    if len(verdicts) == 1:
        v = verdicts.pop()
        return {"verdict": v, "reason": f"every seed ({len(per_seed)}) gives '{v}'", "per_seed": per_seed}
    return {"verdict": "undecided", "per_seed": per_seed,
            "reason": "seeds disagree: " + ", ".join(f"seed {s}: {v}" for s, v in per_seed.items())}


# ---------------------------------------------------------------- difficulty

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


# ---------------------------------------------------------------- everything: gaps.json

def _train_summary(job: dict) -> dict:
    tr = job.get("train") or {}
    keep = ("steps", "warmup_steps", "batch_size", "lr", "tokens", "epochs", "seconds", "tokens_per_s", "initial_loss",
            "final_loss", "val_loss")
    out = {k: tr.get(k) for k in keep} | {"improving": protocol.convergence(tr)}
    if tr.get("lr_grid"):
        out["lr_grid"] = [{k: r.get(k) for k in ("lr", "val_accuracy", "final_loss", "val_loss", "did_not_train", "still_improving", "chosen")}
                          for r in tr["lr_grid"]]
    return out


# with a grid, `lr` is the chosen rate and may differ: the grid is the budget
BUDGET = ("steps", "warmup_steps", "batch_size", "lr", "lr_grid")


def _budget(job: dict) -> dict:
    tr = job.get("train") or {}
    grid = sorted(float(r["lr"]) for r in tr.get("lr_grid") or []) or None
    return {"steps": tr.get("steps"), "warmup_steps": tr.get("warmup_steps"), "batch_size": tr.get("batch_size"),
            "lr": None if grid else tr.get("lr"), "lr_grid": grid, "tokens": tr.get("tokens")}


def budgets(jobs: list[dict]) -> list[dict]:
    """The training budget of each comparison (the jobs of one family and size under the same other swept
    overrides: variants, their baseline, every seed): steps, batch size, learning rate or grid, and tokens
    (equal among the jobs of one seed, which share a data order), and the warmup (it decides whether small
    attention probes leave their recall plateau: reports/probe-training.md §5). `differs` names every budget item
    the jobs do not share, with each job's value: such variants are not compared on equal terms.

    [{comparison, jobs, shared: {steps, warmup_steps, batch_size, lr, lr_grid, tokens: {seed: n}},
      differs: {item: {job: value}}}]
    """
    groups: dict[str, list[dict]] = {}
    for j in jobs:
        if (j.get("train") or {}).get("steps") is None:  # a pretrained checkpoint: not trained here
            continue
        key = f"{j['model']['family']}:{j['model']['size']}" + (f"[{j['context']}]" if j.get("context") else "")
        groups.setdefault(key, []).append(j)
    out = []
    for key, js in groups.items():
        per = {j["name"]: _budget(j) for j in js}
        shared, differs = {}, {}
        for item in BUDGET:
            values = {n: b[item] for n, b in per.items()}
            if len({repr(v) for v in values.values()}) == 1:
                shared[item] = next(iter(values.values()))
            else:
                differs[item] = values
        tokens: dict[str, dict[str, int]] = {}
        for j in js:
            tokens.setdefault(str(j["seed"]), {})[j["name"]] = per[j["name"]]["tokens"]
        shared["tokens"] = {}
        for seed, values in tokens.items():
            if len(set(values.values())) == 1:
                shared["tokens"][seed] = next(iter(values.values()))
            else:
                differs[f"tokens (seed {seed})"] = values
        out.append({"comparison": key, "jobs": [j["name"] for j in js], "shared": shared, "differs": differs})
    return out


def _gap_of_job(job, base, baseline) -> dict:
    """The gaps.json entry of one job against its baseline job."""
    if base is None:
        return {"baseline_job": None, "note": f"no {baseline} job with the same family, size, seed and overrides"}
    if base.get("did_not_train"):
        return {"baseline": base["name"], "baseline_job": base["dir"], "baseline_did_not_train": True,
                "note": f"its baseline `{base['name']}` did not train; no gap"}
    b_scores, v_scores = _scores_by_task(base), _scores_by_task(job)
    tasks, cat_pairs = {}, {}
    for t, v_map in v_scores.items():
        b_map = b_scores.get(t, {})
        keys = sorted(set(v_map) & set(b_map))
        if not keys:
            continue
        bv, vv = np.array([b_map[k] for k in keys]), np.array([v_map[k] for k in keys])
        gap, lo, hi = stats.paired_gap([bv], [vv])
        cat = job["tasks"][t]["category"]
        tasks[t] = {"category": cat, "gap": gap, "ci95": [lo, hi], "n": len(keys),
                    "distinguishable": stats.distinguishable(lo, hi)}
        cat_pairs.setdefault(cat, ([], []))
        cat_pairs[cat][0].append(bv)
        cat_pairs[cat][1].append(vv)
    cats = {}
    for c, (bs, vs) in cat_pairs.items():
        gap, lo, hi = stats.paired_gap(bs, vs)
        cats[c] = {"gap": gap, "ci95": [lo, hi], "n": int(sum(len(b) for b in bs)),
                   "distinguishable": stats.distinguishable(lo, hi)}
    return {"baseline": base["name"], "baseline_job": base["dir"], "tasks": tasks, "categories": cats,
            "minimax": minimax_check(cat_pairs)}


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
     difficulty: {task: {...}}, budgets: [{comparison, jobs, shared, differs}], missing: [...], incomplete: [...]}
    """
    names = _name_jobs(jobs)
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
            "train": _train_summary(job),
        }
    for name, job in zip(names, jobs):
        if is_baseline(job, jobs, baseline):
            continue
        head = {"variant": job["variant"], "seed": job["seed"]}
        if job.get("did_not_train"):
            out["variants"][name] = head | {"did_not_train": True, "baseline_job": None,
                                            "note": "did not train; excluded from gap statistics"}
            continue
        out["variants"][name] = head | _gap_of_job(job, _find_baseline(job, jobs, baseline), baseline)
    out["seeds"] = _seed_stats(jobs, names, out, baseline)
    out["difficulty"] = difficulty(jobs)
    out["budgets"] = budgets(jobs)
    return out


def for_sweep(sweep_dir, baseline: str = "F") -> tuple[dict, list[dict]]:
    """(gaps.json content, complete jobs) for a sweep directory, with the jobs still missing named."""
    jobs = load_jobs(sweep_dir)
    missing = missing_jobs(expected_jobs(sweep_dir), jobs)
    return compute(jobs, baseline, missing=missing, incomplete=incomplete_dirs(sweep_dir)), jobs
