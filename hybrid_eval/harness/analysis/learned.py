"""Did the baseline learn a task? A gap is only as good as its baseline: against a baseline at chance, or at the
context guess (answering with a candidate stated in the context: the plateau a recall model sits on before it learns
to match keys, reports/probe-training.md §5-6), a "gap" measures who left the plateau first, not what a mixer can do.

A task counts as learned when the low end of the baseline's 95% interval over test examples is above the task's
chance level and above its context guess (where the task has one). A gap is reported only for learned tasks; a
category's gap is taken over its learned tasks; the rest is "undecided", with the reason (docs/design.md §7).
"""
from __future__ import annotations


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def unlearned_reason(task: dict) -> str | None:
    """None when the baseline learned the task (results.json's task summary: score, ci95, chance, context_guess),
    else why not in words, e.g. "not above its context guess (12.5 [11.6, 13.4]; context guess 13.9)"."""
    lo, hi = task["ci95"]
    score = f"{_pct(task['score'])} [{_pct(lo)}, {_pct(hi)}]"
    chance, guess = task.get("chance"), task.get("context_guess")
    if chance is not None and lo <= chance:
        return f"not above chance ({score}; chance {_pct(chance)})"
    if guess is not None and lo <= guess:
        return f"not above its context guess ({score}; context guess {_pct(guess)})"
    return None
