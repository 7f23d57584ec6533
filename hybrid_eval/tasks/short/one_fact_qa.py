"""One-fact QA, a control ("regular prompt"): a single fact and a question about it in one turn.

"ann has the red lamp . what color is the lamp of ann ?" -> "red". Score: exact match. Chance: 1 / n_colors.
With `n_facts > 1` the other facts are about other people (a short, easy context).
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import COLORS, NAMES, OBJECTS


@register
class OneFactQA(Task):
    name = "one_fact_qa"
    category = "short"
    version = 1
    description = "answer a question about a fact stated just before it"
    follows = "control task (regular prompts)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        n_facts: int = 1
        n_colors: int = 16

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.n_facts <= len(NAMES):
            raise TaskConfigError(f"one_fact_qa: n_facts={k.n_facts}; accepted: 1..{len(NAMES)}")
        if not 2 <= k.n_colors <= len(COLORS):
            raise TaskConfigError(f"one_fact_qa: n_colors={k.n_colors}; accepted: 2..{len(COLORS)}")

    def make_example(self, rng):
        k = self.knobs
        people = rng.sample(NAMES, k.n_facts)
        facts = [(p, rng.choice(OBJECTS), rng.choice(COLORS[: k.n_colors])) for p in people]
        who, obj, color = rng.choice(facts)
        text = " ".join(f"{p} has the {c} {o} ." for p, o, c in facts)
        text += f" what color is the {obj} of {who} ?"
        return [user(text), assistant(color)], {"knobs": self.knob_dict()}

    def chance(self) -> float:
        return 1.0 / self.knobs.n_colors

    def vocabulary(self):
        return NAMES + OBJECTS + COLORS[: self.knobs.n_colors] + "has the what color is of . ?".split()
