"""Arithmetic programs: a running value updated step by step, modulo a small number.

"x = 7 . x = x plus 5 . x = x times 3 . x = x minus 4 . what is x mod 100 ?" -> "32". Each of `steps`
steps applies plus, minus or times with an operand in 1 .. max_operand; the answer is the final value
modulo `modulus` (the same as reducing after every step). Score: exact match. Chance: 1 / modulus.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.short.arith_step import OPS, apply
from hybrid_eval.tasks.vocab import numbers


@register
class ArithProgram(Task):
    name = "arith_program"
    category = "reasoning"
    version = 1
    description = "run a short program of additions, subtractions and products modulo a number"
    follows = "arithmetic programs / state tracking over a running value"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        steps: int = 4  # updates of the running value
        max_operand: int = 9  # start value in 0 .. max_operand, operands in 1 .. max_operand
        modulus: int = 100

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.steps <= 64:
            raise TaskConfigError(f"arith_program: steps={k.steps}; accepted: 1..64")
        if not 2 <= k.max_operand <= 99:
            raise TaskConfigError(f"arith_program: max_operand={k.max_operand}; accepted: 2..99")
        if not 2 <= k.modulus <= 1000:
            raise TaskConfigError(f"arith_program: modulus={k.modulus}; accepted: 2..1000")

    def make_example(self, rng):
        k = self.knobs
        x = rng.randint(0, k.max_operand)
        lines = [f"x = {x} ."]
        values = [x]
        for _ in range(k.steps):
            op, n = rng.choice(OPS), rng.randint(1, k.max_operand)
            x = apply(op, x, n) % k.modulus
            values.append(x)
            lines.append(f"x = x {op} {n} .")
        text = " ".join(lines) + f" what is x mod {k.modulus} ?"
        return [user(text), assistant(str(x))], {"knobs": self.knob_dict(), "values": values}

    def chance(self) -> float:
        return 1.0 / self.knobs.modulus

    def vocabulary(self):
        k = self.knobs
        return numbers(max(k.modulus + 1, k.max_operand + 1)) + list(OPS) + "x = what is mod . ?".split()
