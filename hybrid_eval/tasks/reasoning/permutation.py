"""Permutation composition as swaps: the word problem of the symmetric group S_n.

"order : red blue green . swap first and third . swap second and third . what is second ?" -> "red".
`n_items` colored items sit in named places; each of `steps` steps swaps two places. With `ask="order"`
the answer is the whole final arrangement ("green red blue"), with `ask="place"` the item at one place.
The S_5 word problem is NC1-complete while S_3's is not, so models in TC0 (transformers, linear RNNs with
diagonal transitions) cannot track S_5 at every length unless TC0 = NC1 (Merrill et al. 2024).
Score: exact match. Chance: 1 / n_items! (order) or 1 / n_items (place).
"""
from __future__ import annotations

import dataclasses
import math

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import COLORS
from hybrid_eval.tasks.vocab_extra import ORDINALS

ASKS = ("order", "place")


@register
class Permutation(Task):
    name = "permutation"
    category = "reasoning"
    version = 1
    description = "track items through a sequence of swaps of named places"
    follows = "S3/S5 word problems (Merrill et al. 2024, The Illusion of State in State-Space Models)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        n_items: int = 5  # 3: S_3, 5: S_5
        steps: int = 8  # swaps
        ask: str = "order"  # "order": the final arrangement; "place": the item at one place

    def validate(self) -> None:
        k = self.knobs
        top = min(len(ORDINALS), len(COLORS))
        if not 2 <= k.n_items <= top:
            raise TaskConfigError(f"permutation: n_items={k.n_items}; accepted: 2..{top}")
        if not 1 <= k.steps <= 1024:
            raise TaskConfigError(f"permutation: steps={k.steps}; accepted: 1..1024")
        if k.ask not in ASKS:
            raise TaskConfigError(f"permutation: ask={k.ask!r}; accepted: {', '.join(ASKS)}")

    def make_example(self, rng):
        k = self.knobs
        items = rng.sample(COLORS, k.n_items)
        lines = ["order : " + " ".join(items) + " ."]
        state = list(items)
        for _ in range(k.steps):
            i, j = sorted(rng.sample(range(k.n_items), 2))
            state[i], state[j] = state[j], state[i]
            lines.append(f"swap {ORDINALS[i]} and {ORDINALS[j]} .")
        if k.ask == "order":
            lines.append("what is the order now ?")
            answer = " ".join(state)
        else:
            p = rng.randrange(k.n_items)
            lines.append(f"what is {ORDINALS[p]} now ?")
            answer = state[p]
        return [user(" ".join(lines)), assistant(answer)], {"knobs": self.knob_dict(), "final": state}

    def chance(self) -> float:
        n = self.knobs.n_items
        return 1.0 / math.factorial(n) if self.knobs.ask == "order" else 1.0 / n

    def vocabulary(self):
        return COLORS + ORDINALS[: self.knobs.n_items] + "order swap and what is the now : . ?".split()
