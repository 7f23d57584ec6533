"""Did-not-train detection (DESIGN §7): a probe that never left chance measures the optimiser, not the mixer.

A trained probe is marked `did_not_train` when its validation accuracy clears chance by a margin on no task
of the suite, or when its training loss never fell measurably below where it started. Such a variant is
excluded from gap statistics (harness/gaps.py) and shown as such in the report and in W&B.
"""
from __future__ import annotations

import math

LOSS_DROP = 0.05  # the final loss must be at least 5% below the first logged loss
SIGMAS = 3.0  # validation accuracy must exceed chance by 3 binomial standard errors (and 1 point)


def clears_chance(score: float, chance: float, n: int) -> bool:
    margin = max(0.01, SIGMAS * math.sqrt(chance * (1 - chance) / max(n, 1)))
    return score > chance + margin


def did_not_train(initial_loss: float | None, final_loss: float | None, validation: dict[str, dict]) -> tuple[bool, str]:
    """(flag, reason). `validation` maps a task alias to {"score", "chance", "n"} on the validation split."""
    if initial_loss is not None and final_loss is not None and final_loss > (1 - LOSS_DROP) * initial_loss:
        return True, f"loss {initial_loss:.3f} -> {final_loss:.3f} fell less than {LOSS_DROP:.0%}"
    cleared = [t for t, v in validation.items() if clears_chance(v["score"], v["chance"], v["n"])]
    if validation and not cleared:
        return True, "validation accuracy at chance on every task"
    return False, f"validation above chance on {', '.join(cleared) or 'no task (no validation split)'}"
