"""Short copy, a control ("regular prompt"): "repeat after me : apple cup lamp ." -> "apple cup lamp".

The words are drawn with replacement from the first `n_words` objects. Score: exact match (the sequence is
one answer). Chance: 1 / n_words ** length.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import OBJECTS


@register
class ShortCopy(Task):
    name = "short_copy"
    category = "short"
    version = 1
    description = "repeat a short list of words"
    follows = "control task (regular prompts)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        length: int = 4  # words to copy
        n_words: int = 32  # size of the word pool

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.length <= 64:
            raise TaskConfigError(f"short_copy: length={k.length}; accepted: 1..64")
        if not 2 <= k.n_words <= len(OBJECTS):
            raise TaskConfigError(f"short_copy: n_words={k.n_words}; accepted: 2..{len(OBJECTS)}")

    def make_example(self, rng):
        k = self.knobs
        seq = " ".join(rng.choice(OBJECTS[: k.n_words]) for _ in range(k.length))
        return [user(f"repeat after me : {seq} ."), assistant(seq)], {"knobs": self.knob_dict()}

    def chance(self) -> float:
        return float(self.knobs.n_words) ** -self.knobs.length

    def vocabulary(self):
        return OBJECTS[: self.knobs.n_words] + "repeat after me : .".split()
