"""MQAR, multi-query associative recall (Zoology, Arora et al. 2023), in words.

The user lists key-value pairs ("apple 12 , chair 40 , ..."), optionally followed by a gap of filler words
(random keys, or one word repeated as in Zoology's MQAR, whose gap is one constant token), then asks for the
values of several keys at once; the assistant answers each key with its value in the order asked
("door 60 cable 50 ..."), as in Zoology, where every query key is followed by its value.
Score: fraction of queried values given correctly, position by position (numbers parsed from the output;
partial credit per query, as Zoology reports per-query accuracy). Chance: 1 / n_values.
"""
from __future__ import annotations

import dataclasses
import re

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, guess_among, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import OBJECTS, numbers

_NUMBER = re.compile(r"\d+")
FILLERS = ("keys", "blank")  # the gap: random key words (may repeat the pairs' keys), or the word "blank" repeated


@register
class MQAR(Task):
    name = "mqar"
    category = "long_context"
    version = 2
    description = "recall the values of several keys from a list of key-value pairs"
    follows = "Zoology MQAR"
    added_knobs = ("filler",)  # filler=keys draws the same examples as before the knob existed

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        n_pairs: int = 8  # key-value pairs in the context
        n_queries: int = 0  # keys asked for (0: all pairs)
        n_keys: int = 64  # size of the key vocabulary
        n_values: int = 64  # size of the value vocabulary
        distractors: int = 0  # filler words between the pairs and the question
        filler: str = "keys"  # what the distractors are: random key words (keys) or the word "blank" (blank)

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.n_keys <= len(OBJECTS):
            raise TaskConfigError(f"mqar: n_keys={k.n_keys}; accepted: 1..{len(OBJECTS)}")
        if not 1 <= k.n_pairs <= k.n_keys:
            raise TaskConfigError(f"mqar: n_pairs={k.n_pairs} needs distinct keys; accepted: 1..n_keys ({k.n_keys})")
        if not 0 <= k.n_queries <= k.n_pairs:
            raise TaskConfigError(f"mqar: n_queries={k.n_queries}; accepted: 0 (all) .. n_pairs ({k.n_pairs})")
        if k.n_values < 2:
            raise TaskConfigError(f"mqar: n_values={k.n_values}; accepted: >= 2")
        if k.distractors < 0:
            raise TaskConfigError(f"mqar: distractors={k.distractors}; accepted: >= 0")
        if k.filler not in FILLERS:
            raise TaskConfigError(f"mqar: filler={k.filler!r}; accepted: {', '.join(FILLERS)}")

    def make_example(self, rng):
        k = self.knobs
        keys = rng.sample(OBJECTS[: k.n_keys], k.n_pairs)
        values = [str(rng.randrange(k.n_values)) for _ in keys]
        n_q = k.n_queries or k.n_pairs
        asked = rng.sample(range(k.n_pairs), n_q)
        pairs = " , ".join(f"{key} {val}" for key, val in zip(keys, values))
        if k.filler == "blank":
            filler = " ".join(["blank"] * k.distractors)
        else:
            filler = " ".join(rng.choice(OBJECTS[: k.n_keys]) for _ in range(k.distractors))
        text = f"remember : {pairs} ." + (f" noise : {filler} ." if filler else "")
        text += " numbers of : " + " ".join(keys[i] for i in asked) + " ?"
        answer = " ".join(f"{keys[i]} {values[i]}" for i in asked)
        return [user(text), assistant(answer)], {"knobs": self.knob_dict()}

    def score_turn(self, example, turn, output):
        gold = _NUMBER.findall(example["messages"][turn]["content"])
        got = _NUMBER.findall(output)
        return sum(g == o for g, o in zip(gold, got)) / len(gold)

    def chance(self) -> float:
        return 1.0 / self.knobs.n_values

    def context_guess(self) -> float:
        """Each asked number answered with one of the n_pairs stated values: its own with 1/n_pairs, another one
        that happens to be equal (values are drawn with replacement) otherwise."""
        return guess_among(self.knobs.n_pairs, self.knobs.n_values)

    def vocabulary(self):
        blank = ["blank"] if self.knobs.filler == "blank" else []  # only then, so other suites keep their token ids
        return OBJECTS[: self.knobs.n_keys] + numbers(self.knobs.n_values) + "remember noise numbers of : , . ?".split() + blank
