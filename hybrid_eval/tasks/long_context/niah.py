"""Needle in a haystack, RULER's four NIAH variants (Hsieh et al. 2024), over the closed vocabulary.

Needles are "the special magic number for KEY is VALUE ." sentences hidden in a haystack of filler
sentences (tasks/long_context/haystack.py); the prompt, header and question included, is `context_tokens`
words long within ±10% (words as `tasks.base.words` counts them). A value is `value_words` numbers below
`n_values` (one number: RULER's numeric needle; 7 numbers below 10: a 7-digit passkey).

    niah_single      one needle, asked for.                                   exact match
    niah_multikey    `n_keys` needles with different keys, one asked for.     exact match
    niah_multivalue  `values` needles with the same key, all asked for.       |gold ∩ said| / max(|gold|, |said|)
    niah_multiquery  `queries` needles with different keys, all asked for.    fraction right, position by position

Answers list values separated by " , " (multivalue: in order of appearance, scored in any order;
multiquery: in the order the question names the keys). `needle_depth` (0..1) puts the asked needles
together at that relative depth (distractor needles of niah_multikey stay at random depths); None gives
every needle its own uniform random depth.
"""
from __future__ import annotations

import collections
import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, normalize, user, words
from hybrid_eval.tasks.long_context import haystack
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import OBJECTS, numbers

HEADER = "some special magic numbers are hidden in the text below . remember them ."
MAX_CONTEXT = 1 << 20
_TEMPLATE_WORDS = "some special magic numbers number are hidden in the text below remember them for is what all , . ?".split()


def needle(key: str, value: str) -> str:
    return f"the special magic number for {key} is {value} ."


def split_values(output: str) -> list[str]:
    """The comma-separated values of an answer, each in normal form."""
    return [v.strip() for v in normalize(output).split(",") if v.strip()]


class _NIAH(Task):
    """Shared generator; subclasses choose the needles (`_draw`), the question and the scorer."""

    category = "long_context"
    version = 1
    follows = "RULER NIAH (Hsieh et al. 2024)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        context_tokens: int = 512  # prompt length in words (±10%), haystack, needles and question included
        needle_depth: float | None = None  # 0..1: relative depth of the asked needles; None: random per needle
        haystack: str = "sentences"  # "noise" (RULER's repeated sentences) or "sentences" (templated, varied)
        n_values: int = 100  # a value's numbers are 0 .. n_values-1
        value_words: int = 1  # numbers per value

    # --- what subclasses choose ---------------------------------------------------------------------
    def _n_needles(self) -> int:
        return 1

    def _n_asked_keys(self) -> int:
        return 1

    def _draw(self, rng) -> tuple[list[tuple[str, str]], list[int]]:
        """Needles (key, value) and the indices of the asked ones, in the order the question names them."""
        raise NotImplementedError

    def _question(self, keys: list[str]) -> str:
        return f"what is the special magic number for {keys[0]} ?"

    def _answer(self, values: list[str]) -> str:
        """`values` of the asked needles, in the question's order."""
        return " , ".join(values)

    # --- shared ---------------------------------------------------------------------------------------
    def _value(self, rng) -> str:
        return " ".join(str(rng.randrange(self.knobs.n_values)) for _ in range(self.knobs.value_words))

    def _fixed_words(self) -> int:
        """Words of the prompt that are not haystack: header, needles, question."""
        per_needle = len(words(needle("key", " ".join(["0"] * self.knobs.value_words))))
        return len(words(HEADER)) + self._n_needles() * per_needle + len(words(self._question(["key"] * self._n_asked_keys())))

    def validate(self) -> None:
        k, name = self.knobs, self.name
        if k.haystack not in haystack.KINDS:
            raise TaskConfigError(f"{name}: haystack={k.haystack!r}; accepted: {', '.join(haystack.KINDS)}")
        d = k.needle_depth
        if not (d is None or (isinstance(d, (int, float)) and not isinstance(d, bool) and 0 <= d <= 1)):
            raise TaskConfigError(f"{name}: needle_depth={d!r}; accepted: a number in 0..1, or null for a random depth per needle")
        if not 2 <= k.n_values <= 1000:
            raise TaskConfigError(f"{name}: n_values={k.n_values}; accepted: 2..1000")
        if not 1 <= k.value_words <= 8:
            raise TaskConfigError(f"{name}: value_words={k.value_words}; accepted: 1..8")
        self._validate_needles()
        low = max(self._fixed_words() + 2 * haystack.MAX_SENTENCE, 10 * haystack.MAX_SENTENCE)
        if not low <= k.context_tokens <= MAX_CONTEXT:
            raise TaskConfigError(
                f"{name}: context_tokens={k.context_tokens} cannot hold {self._n_needles()} needle(s), the header, "
                f"the question and some haystack; accepted: {low}..{MAX_CONTEXT}"
            )

    def _validate_needles(self) -> None:
        pass

    def make_example(self, rng):
        k = self.knobs
        needles, asked = self._draw(rng)
        depths = [k.needle_depth if k.needle_depth is not None and i in asked else rng.random() for i in range(len(needles))]
        hay = haystack.filler(rng, k.haystack, k.context_tokens - self._fixed_words())
        order = sorted(range(len(needles)), key=lambda i: (round(depths[i] * len(hay)), i))
        body = haystack.insert(hay, [(depths[i], needle(*needles[i])) for i in order])
        prompt = " ".join([HEADER, *body, self._question([needles[i][0] for i in asked])])
        offsets, pos = {}, len(words(HEADER))  # word offset of each needle in the prompt
        texts = {needle(*needles[i]): i for i in order}
        for s in body:
            if s in texts:
                offsets[texts[s]] = pos
            pos += len(words(s))
        meta = {
            "knobs": self.knob_dict(), "needles": needles, "asked": asked, "depths": depths,
            "offsets": [offsets[i] for i in range(len(needles))], "appearance": order,
        }
        return [user(prompt), assistant(self._answer([needles[i][1] for i in asked]))], meta

    def chance(self) -> float:
        return float(self.knobs.n_values) ** -self.knobs.value_words

    def vocabulary(self):
        return sorted(set(haystack.vocabulary(self.knobs.haystack) + OBJECTS + numbers(self.knobs.n_values) + _TEMPLATE_WORDS))


@register
class NIAHSingle(_NIAH):
    name = "niah_single"
    description = "retrieve the one number hidden in a long haystack"

    @dataclasses.dataclass(frozen=True)
    class Knobs(_NIAH.Knobs):
        pass

    def _draw(self, rng):
        return [(rng.choice(OBJECTS), self._value(rng))], [0]


@register
class NIAHMultiKey(_NIAH):
    name = "niah_multikey"
    description = "retrieve one key's number among needles with other keys"

    @dataclasses.dataclass(frozen=True)
    class Knobs(_NIAH.Knobs):
        n_keys: int = 4  # needles, each with its own key; one is asked for

    def _n_needles(self):
        return self.knobs.n_keys

    def _validate_needles(self):
        if not 1 <= self.knobs.n_keys <= len(OBJECTS):
            raise TaskConfigError(f"{self.name}: n_keys={self.knobs.n_keys}; accepted: 1..{len(OBJECTS)}")

    def _draw(self, rng):
        keys = rng.sample(OBJECTS, self.knobs.n_keys)
        return [(key, self._value(rng)) for key in keys], [rng.randrange(len(keys))]


@register
class NIAHMultiValue(_NIAH):
    name = "niah_multivalue"
    description = "retrieve every number hidden for one key"

    @dataclasses.dataclass(frozen=True)
    class Knobs(_NIAH.Knobs):
        values: int = 4  # needles with the same key and different values; all are asked for

    def _n_needles(self):
        return self.knobs.values

    def _validate_needles(self):
        k = self.knobs
        top = min(16, k.n_values**k.value_words)
        if not 1 <= k.values <= top:
            raise TaskConfigError(f"{self.name}: values={k.values}; accepted: 1..{top} (distinct values, at most 16)")

    def _draw(self, rng):
        key, vals = rng.choice(OBJECTS), []
        while len(vals) < self.knobs.values:
            v = self._value(rng)
            if v not in vals:
                vals.append(v)
        return [(key, v) for v in vals], list(range(len(vals)))

    def _question(self, keys):
        return f"what are all the special magic numbers for {keys[0]} ?"

    def make_example(self, rng):
        messages, meta = super().make_example(rng)
        values = [meta["needles"][i][1] for i in meta["appearance"]]  # the gold lists values as they appear
        messages[-1] = assistant(" , ".join(values))
        return messages, meta

    def score_turn(self, example, turn, output):
        gold = split_values(example["messages"][turn]["content"])
        said = split_values(output)
        hits = sum((collections.Counter(gold) & collections.Counter(said)).values())
        return hits / max(len(gold), len(said))

    def chance(self) -> float:
        return min(1.0, self.knobs.values * super().chance())


@register
class NIAHMultiQuery(_NIAH):
    name = "niah_multiquery"
    description = "retrieve the numbers of several keys asked at once"

    @dataclasses.dataclass(frozen=True)
    class Knobs(_NIAH.Knobs):
        queries: int = 4  # needles with different keys; all are asked for, in a shuffled order

    def _n_needles(self):
        return self.knobs.queries

    def _n_asked_keys(self):
        return self.knobs.queries

    def _validate_needles(self):
        if not 1 <= self.knobs.queries <= len(OBJECTS):
            raise TaskConfigError(f"{self.name}: queries={self.knobs.queries}; accepted: 1..{len(OBJECTS)}")

    def _draw(self, rng):
        keys = rng.sample(OBJECTS, self.knobs.queries)
        asked = list(range(len(keys)))
        rng.shuffle(asked)
        return [(key, self._value(rng)) for key in keys], asked

    def _question(self, keys):
        return f"what are the special magic numbers for {' , '.join(keys)} ?"

    def score_turn(self, example, turn, output):
        gold = split_values(example["messages"][turn]["content"])
        said = split_values(output)
        return sum(g == s for g, s in zip(gold, said)) / len(gold)
