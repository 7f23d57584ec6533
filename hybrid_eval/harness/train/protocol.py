"""The probe training protocol's verdicts (docs/design.md §7): did a run train at all, and was it still improving
when its budget ended?

Did not train: a probe that never left chance measures the optimiser, not the mixer. A trained probe is
marked `did_not_train` when its validation accuracy clears chance by a margin on no task of the suite, or
when its training loss never fell measurably below where it started, or when its loss or gradient stopped being
finite (`train.diverged_at_step`: training stops there). Such a variant is excluded from gap
statistics (harness/analysis/gaps.py) and shown as such in the report and in W&B.

Still improving: the one convergence rule (`still_improving`), recorded in results.json as
`train.still_improving` with the numbers it was decided on (`train.convergence`), and read back by the
report, the gap statistics and W&B. The learning-rate grid that picks each variant's run is
harness/train/lr_grid.py.
"""
from __future__ import annotations

import math

import numpy as np

LOSS_DROP = 0.05  # the final loss must be at least 5% below the first logged loss
SIGMAS = 3.0  # validation accuracy must exceed chance by 3 binomial standard errors (and 1 point)


def clears_chance(score: float, chance: float, n: int) -> bool:
    margin = max(0.01, SIGMAS * math.sqrt(chance * (1 - chance) / max(n, 1)))
    return score > chance + margin


def did_not_train(initial_loss: float | None, final_loss: float | None, validation: dict[str, dict],
                  diverged_at_step: int | None = None, points: int | None = None) -> tuple[bool, str]:
    """(flag, reason). `validation` maps a task alias to {"score", "chance", "n"} on the validation split; a run whose
    loss or gradient stopped being finite (harness/train/loop.py) did not train, whatever it had learned before.
    `points` is the number of logged loss points: with one (a run shorter than `train.log_every`) the first and
    last loss are the same number, so the loss criterion cannot be measured and validation alone decides."""
    if diverged_at_step is not None:
        return True, f"diverged: the loss or its gradient was not finite at step {diverged_at_step}"
    measured = points is None or points > 1
    if measured and initial_loss is not None and final_loss is not None and final_loss > (1 - LOSS_DROP) * initial_loss:
        return True, f"loss {initial_loss:.3f} -> {final_loss:.3f} fell less than {LOSS_DROP:.0%}"
    cleared = [t for t, v in validation.items() if clears_chance(v["score"], v["chance"], v["n"])]
    if validation and not cleared:
        return True, "validation accuracy at chance on every task"
    return False, f"validation above chance on {', '.join(cleared) or 'no task (no validation split)'}"


TAIL = 0.2        # the last 20% of a run's steps
MIN_POINTS = 3    # a slope and its standard error need at least 3 logged points
Z_SLOPE = 2.0     # the slope must be this many standard errors below zero
MIN_FALL = 0.01   # and the fitted fall over the tail at least this many nats (a loss of 1e-4 falling to 5e-5 is done)


def still_improving(curve, tail: float = TAIL, z: float = Z_SLOPE) -> dict:
    """Was the training loss still falling when the budget ended?

    Rule: take the logged (step, loss) points in the last `tail` (20%) of the run's steps, at least 3 (the
    last 3 points when the tail holds fewer), fit loss = a + b * step by least squares, and call the run
    still improving when b < 0 and |b| > z * SE(b) with z = 2 (the fall over the tail exceeds its noise,
    about a one-sided 98% test) and the fitted fall over the tail is at least `MIN_FALL` (0.01 nats per token: a
    converged run's loss can keep falling significantly from 1e-4 to 1e-5 without anything left to learn).
    SE(b) = sqrt(SSR / (k - 2) / Sxx) over the k points. With fewer than 3 points the answer is None (unknown).

    Returns {"improving": bool | None, "slope": b per step, "se": SE(b), "points": k,
    "drop": the fitted fall over the tail (positive = loss fell), "tail": tail, "z": z}.
    """
    pts = np.asarray([(s, l) for s, l in (curve or []) if l is not None and np.isfinite(l)], dtype=float)
    if len(pts) < MIN_POINTS:
        return {"improving": None, "slope": None, "se": None, "points": int(len(pts)), "drop": None, "tail": tail, "z": z}
    last = pts[-1, 0]
    k = max(MIN_POINTS, int(np.sum(pts[:, 0] > last * (1 - tail))))
    s, y = pts[-k:, 0], pts[-k:, 1]
    sxx = float(np.sum((s - s.mean()) ** 2))
    b = float(np.sum((s - s.mean()) * (y - y.mean())) / sxx)
    resid = y - (y.mean() + b * (s - s.mean()))
    se = float(np.sqrt(np.sum(resid ** 2) / (k - 2) / sxx)) if k > 2 else float("inf")
    drop = float(-b * (s[-1] - s[0]))
    return {"improving": bool(b < 0 and -b > z * se and drop >= MIN_FALL), "slope": b, "se": se, "points": int(k),
            "drop": drop, "tail": tail, "z": z}


def convergence(train_summary: dict | None) -> dict:
    """The convergence verdict of a training summary: the one recorded with it (`train.convergence`), or,
    for results written before it was recorded, the same rule applied to its `loss_curve`."""
    tr = train_summary or {}
    if isinstance(tr.get("convergence"), dict) and "improving" in tr["convergence"]:
        return tr["convergence"]
    return still_improving(tr.get("loss_curve"))


def record_convergence(train_summary: dict) -> dict:
    """Adds `still_improving` (bool, or None with fewer than 3 logged points) and `convergence` (the
    numbers it was decided on) to a training summary, in place; returns it."""
    c = still_improving(train_summary.get("loss_curve"))
    train_summary["still_improving"] = c["improving"]
    train_summary["convergence"] = c
    return train_summary
