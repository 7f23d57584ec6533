"""The MiniMax check: does a variant lose more on reasoning and multi-turn work than on short control tasks, as
MiniMax reported for its hybrid (lightning) attention? Paired gaps per category (stats.paired_gap), the targets'
excess over the control with its interval (stats.gap_difference), a verdict per seed (`minimax_check`) and one over
training seeds (`combine_verdicts`)."""
from __future__ import annotations

from hybrid_eval.harness.analysis import stats

CONTROL = "short"
TARGETS = ("reasoning", "multi_turn")
SMALL = 0.05     # a control gap below 5 points counts as small
EFFECT = 0.10    # the gap size the check must be able to see: 10 points


def minimax_check(cat_pairs: dict[str, tuple[list, list]], control: str = CONTROL, targets=TARGETS,
                  small: float = SMALL, effect: float = EFFECT, n_boot: int = stats.N_BOOT, seed: int = 0,
                  left_out: dict[str, list[str]] | None = None) -> dict:
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

    Only tasks the baseline learned are judged (learned.py): `cat_pairs` holds those, and `left_out` maps a
    category to the tasks it left out, each with the reason ("mqar not above its context guess (...)"). A category
    whose tasks were all left out is not converged: without the control, or without every target, the verdict is
    "undecided" ("baseline not converged on multi_turn: ..."); "fails" also needs every target the suite has to be
    judged, so a target the baseline never learned cannot count as "no gap". The reason names what was left out.

    Returns {"verdict", "reason", "control": {category, gap, ci95, n, clean}, "targets": {T: {gap, ci95,
    n, significant, powered, diff, diff_ci95}}, "rule": {small, effect, n_powered}}.
    """
    n_powered = stats.n_to_detect(effect)
    rule = {"control": control, "targets": list(targets), "small": small, "effect": effect, "n_powered": n_powered}
    left_out = {c: ts for c, ts in (left_out or {}).items() if ts and c in (control, *targets)}
    unconverged = [c for c in (control, *targets) if c in left_out and c not in cat_pairs]

    def not_converged(cats):
        return "baseline not converged on " + "; ".join(f"{c} ({', '.join(left_out[c])})" for c in cats)

    present = [t for t in targets if t in cat_pairs]
    if control not in cat_pairs or not present:
        reason = (not_converged(unconverged) if (control in unconverged or not present) and unconverged else
                  f"needs a `{control}` category and one of {', '.join(targets)}; have {', '.join(sorted(cat_pairs)) or 'none'}")
        return {"verdict": "undecided", "control": None, "targets": {}, "rule": rule, "reason": reason,
                "left_out": left_out}

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
    elif unconverged:  # every judged target may look fine, but a target the baseline never learned is not "no gap"
        verdict = "undecided"
        reason = f"{not_converged(unconverged)}; the judged categories cannot decide alone ({ctrl})"
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
    partly = [c for c in left_out if c in cat_pairs]
    if partly:
        reason += ("; judged on the tasks the baseline learned, left out: "
                   + "; ".join(f"{', '.join(left_out[c])}" for c in partly))
    return {"verdict": verdict, "reason": reason, "control": c, "targets": ts, "rule": rule, "left_out": left_out}


def combine_verdicts(per_seed: dict) -> dict:
    """One verdict over training seeds: the seeds' common verdict, or "undecided" when they disagree."""
    verdicts = set(per_seed.values())
    if len(verdicts) == 1:
        v = verdicts.pop()
        return {"verdict": v, "reason": f"every seed ({len(per_seed)}) gives '{v}'", "per_seed": per_seed}
    return {"verdict": "undecided", "per_seed": per_seed,
            "reason": "seeds disagree: " + ", ".join(f"seed {s}: {v}" for s, v in per_seed.items())}
