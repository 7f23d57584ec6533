"""Palindromes: recognise one, or reverse a sequence.

`mode="check"`: "is 3 1 4 1 3 a palindrome ?" -> "yes" or "no"; half the examples are palindromes, the
others are palindromes with one mirrored pair broken (a near miss, so length alone tells nothing).
`mode="reverse"`: "reverse : 3 1 4 ." -> "4 1 3". Symbols are the numbers 0 .. n_symbols-1.
Score: exact match. Chance: 1 / 2 (check), 1 / n_symbols ** length (reverse).
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import numbers

MODES = ("check", "reverse")


@register
class Palindrome(Task):
    name = "palindrome"
    category = "reasoning"
    version = 1
    description = "tell whether a sequence is a palindrome, or reverse it"
    follows = "palindrome recognition / string reversal (Chomsky-hierarchy tasks, Deletang et al. 2023)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        length: int = 8  # symbols in the sequence
        n_symbols: int = 10
        mode: str = "check"  # "check": is it a palindrome (yes / no); "reverse": write it backwards

    def validate(self) -> None:
        k = self.knobs
        if k.mode not in MODES:
            raise TaskConfigError(f"palindrome: mode={k.mode!r}; accepted: {', '.join(MODES)}")
        low = 2 if k.mode == "check" else 1
        if not low <= k.length <= 256:
            raise TaskConfigError(f"palindrome: length={k.length} with mode={k.mode}; accepted: {low}..256")
        if not 2 <= k.n_symbols <= 100:
            raise TaskConfigError(f"palindrome: n_symbols={k.n_symbols}; accepted: 2..100")

    def make_example(self, rng):
        k = self.knobs
        if k.mode == "reverse":
            seq = [str(rng.randrange(k.n_symbols)) for _ in range(k.length)]
            text, answer = f"reverse : {' '.join(seq)} .", " ".join(reversed(seq))
        else:
            half = [str(rng.randrange(k.n_symbols)) for _ in range(k.length // 2)]
            middle = [str(rng.randrange(k.n_symbols))] if k.length % 2 else []
            seq = half + middle + half[::-1]
            answer = "yes"
            if rng.random() < 0.5:  # break one mirrored pair
                i = rng.randrange(k.length // 2)
                seq[i] = rng.choice([s for s in numbers(k.n_symbols) if s != seq[i]])
                answer = "no"
            text = f"is {' '.join(seq)} a palindrome ?"
        return [user(text), assistant(answer)], {"knobs": self.knob_dict()}

    def chance(self) -> float:
        k = self.knobs
        return 0.5 if k.mode == "check" else float(k.n_symbols) ** -k.length

    def vocabulary(self):
        return numbers(self.knobs.n_symbols) + "is a palindrome yes no reverse : . ?".split()
