"""One-step arithmetic, a control ("regular prompt"): "7 plus 5 ?" -> "12".

Operands are 0 .. max_operand written as digit words; `op` picks plus, minus (never below 0: the larger
operand comes first), times, or a uniform mix. With `speakers > 0` one of that many names asks
("ann asks : 7 plus 5 ?"): the bare form has only ~255 distinct examples at max_operand 9, so with splits
kept disjoint by transcript (tasks/data.py) most test facts would never occur in training, and a probe,
whose numbers are opaque tokens, cannot learn a fact it never saw. With speakers every fact recurs in
training under other names while no test transcript does. Score: exact match. Chance: 1 / number of
possible answers.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import NAMES, numbers

OPS = ("plus", "minus", "times")


def apply(op: str, a: int, b: int) -> int:
    return a + b if op == "plus" else a - b if op == "minus" else a * b


@register
class ArithStep(Task):
    name = "arith_step"
    category = "short"
    version = 1
    description = "add, subtract or multiply two small numbers"
    follows = "control task (regular prompts)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        max_operand: int = 9  # operands are 0 .. max_operand
        op: str = "mixed"  # plus, minus, times, or mixed (uniform over the three)
        speakers: int = 16  # names that may ask the question; 0: the bare "7 plus 5 ?"

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.max_operand <= 99:
            raise TaskConfigError(f"arith_step: max_operand={k.max_operand}; accepted: 1..99")
        if k.op not in OPS + ("mixed",):
            raise TaskConfigError(f"arith_step: op={k.op!r}; accepted: {', '.join(OPS)}, mixed")
        if not 0 <= k.speakers <= len(NAMES):
            raise TaskConfigError(f"arith_step: speakers={k.speakers}; accepted: 0..{len(NAMES)}")

    def _ops(self) -> tuple[str, ...]:
        return OPS if self.knobs.op == "mixed" else (self.knobs.op,)

    def make_example(self, rng):
        k = self.knobs
        op = rng.choice(self._ops())
        a, b = rng.randint(0, k.max_operand), rng.randint(0, k.max_operand)
        if op == "minus" and a < b:
            a, b = b, a
        ask = f"{rng.choice(NAMES[: k.speakers])} asks : " if k.speakers else ""
        return [user(f"{ask}{a} {op} {b} ?"), assistant(str(apply(op, a, b)))], {"knobs": self.knob_dict()}

    def _answers(self) -> set[int]:
        m = self.knobs.max_operand
        return {apply(op, a, b) for op in self._ops() for a in range(m + 1) for b in range(a + 1)}

    def chance(self) -> float:
        return 1.0 / len(self._answers())

    def vocabulary(self):
        top = max(self._answers())
        return numbers(top + 1) + list(self._ops()) + NAMES[: self.knobs.speakers] + "asks : ?".split()
