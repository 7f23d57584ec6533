"""Haystacks for long-context tasks (RULER): filler sentences up to a length in words, and insertion of
needle sentences at relative depths.

Two kinds, as in RULER: "noise" repeats five fixed sentences ("the grass is green . the sky is blue . ...");
"sentences" draws templated sentences over the closed vocabulary (names, colors, objects, cities), never
with numbers, so that the numbers in a prompt are exactly the needles' values.
Lengths are counted as `len(tasks.base.words(text))`, the probe tokenizer's tokens.
"""
from __future__ import annotations

import random

from hybrid_eval.tasks.base import words
from hybrid_eval.tasks.vocab import CITIES, COLORS, NAMES, OBJECTS

KINDS = ("noise", "sentences")

NOISE = ("the grass is green .", "the sky is blue .", "the sun is yellow .", "here we go .", "there and back again .")

_TEMPLATES = (
    "{name} saw a {color} {obj} in {city} .",
    "the {obj} of {name} is {color} .",
    "{name} went to {city} with {name2} .",
    "the {color} {obj} is on the {obj2} .",
)
_TEMPLATE_WORDS = "saw a in the of is went to with on .".split()
MAX_SENTENCE = 7  # words in the longest filler sentence


def _sentence(rng: random.Random) -> str:
    return rng.choice(_TEMPLATES).format(
        name=rng.choice(NAMES), name2=rng.choice(NAMES), color=rng.choice(COLORS),
        obj=rng.choice(OBJECTS), obj2=rng.choice(OBJECTS), city=rng.choice(CITIES),
    )


def filler(rng: random.Random, kind: str, n_words: int) -> list[str]:
    """Sentences totalling between n_words - MAX_SENTENCE and n_words words."""
    out: list[str] = []
    total = 0
    while True:
        s = NOISE[len(out) % len(NOISE)] if kind == "noise" else _sentence(rng)
        n = len(words(s))
        if total + n > n_words:
            return out
        out.append(s)
        total += n


def insert(sentences: list[str], items: list[tuple[float, str]]) -> list[str]:
    """`sentences` with each (depth, text) of `items` put before sentence round(depth * len(sentences)).

    Items at the same place keep their order in `items`.
    """
    n = len(sentences)
    at: dict[int, list[str]] = {}
    for depth, text in items:
        at.setdefault(round(depth * n), []).append(text)
    out: list[str] = []
    for i in range(n + 1):
        out += at.get(i, [])
        if i < n:
            out.append(sentences[i])
    return out


def vocabulary(kind: str) -> list[str]:
    if kind == "noise":
        return sorted({w for s in NOISE for w in words(s)})
    return sorted(set(_TEMPLATE_WORDS) | set(NAMES) | set(COLORS) | set(OBJECTS) | set(CITIES))
