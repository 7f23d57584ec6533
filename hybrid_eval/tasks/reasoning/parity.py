"""Parity of a bit string: "bits : 1 0 1 1 0 . even or odd ?" -> "odd" (the count of 1s).

The state-tracking probe of Grazzi et al. 2024: linear RNNs whose transitions have only positive
eigenvalues cannot track parity at any length; attention and DeltaNet with beta in [0, 2] can.
Score: exact match. Chance: 1 / 2.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register


@register
class Parity(Task):
    name = "parity"
    category = "reasoning"
    version = 1
    description = "say whether a bit string has an even or odd number of ones"
    follows = "parity (Grazzi et al. 2024, Unlocking state-tracking in linear RNNs)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        length: int = 16  # bits

    def validate(self) -> None:
        if not 1 <= self.knobs.length <= 4096:
            raise TaskConfigError(f"parity: length={self.knobs.length}; accepted: 1..4096")

    def make_example(self, rng):
        bits = [rng.randrange(2) for _ in range(self.knobs.length)]
        text = "bits : " + " ".join(map(str, bits)) + " . even or odd ?"
        return [user(text), assistant("odd" if sum(bits) % 2 else "even")], {"knobs": self.knob_dict()}

    def chance(self) -> float:
        return 0.5

    def vocabulary(self):
        return "0 1 bits even or odd : . ?".split()
