"""Facts given across user turns, asked for in later turns (multi-round recall, MRCR-like in spirit).

Each of the first `n_facts` user turns states where one person lives; the assistant acknowledges ("ok",
trained but not scored). Then `n_questions` user turns each ask for one of those people; every answer
is a scored turn. `updates` later turns move a person already named, so the latest value must win.
Score: exact match per question, averaged. Chance: 1 / number of cities.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, guess_among, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import CITIES, NAMES


@register
class FactRecall(Task):
    name = "fact_recall"
    category = "multi_turn"
    version = 1
    description = "recall facts stated in earlier user turns of a dialogue"
    follows = "multi-round recall (MRCR-style), knowledge updates"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        n_facts: int = 4  # turns that each state one fact
        n_questions: int = 2  # later turns that each ask for one fact
        updates: int = 0  # turns that change a fact already stated (the latest value wins)
        n_cities: int = 16

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.n_facts <= len(NAMES):
            raise TaskConfigError(f"fact_recall: n_facts={k.n_facts}; accepted: 1..{len(NAMES)}")
        if not 1 <= k.n_questions <= k.n_facts:
            raise TaskConfigError(f"fact_recall: n_questions={k.n_questions}; accepted: 1..n_facts ({k.n_facts})")
        if not 2 <= k.n_cities <= len(CITIES):
            raise TaskConfigError(f"fact_recall: n_cities={k.n_cities}; accepted: 2..{len(CITIES)}")
        if k.updates < 0:
            raise TaskConfigError(f"fact_recall: updates={k.updates}; accepted: >= 0")

    def make_example(self, rng):
        k = self.knobs
        cities = CITIES[: k.n_cities]
        people = rng.sample(NAMES, k.n_facts)
        where = {p: rng.choice(cities) for p in people}
        messages = []
        for p in people:
            messages += [user(f"{p} lives in {where[p]} ."), assistant("ok", scored=False)]
        for _ in range(k.updates):
            p = rng.choice(people)
            where[p] = rng.choice([c for c in cities if c != where[p]])
            messages += [user(f"{p} moved to {where[p]} ."), assistant("ok", scored=False)]
        for p in rng.sample(people, k.n_questions):
            messages += [user(f"where does {p} live ?"), assistant(where[p])]
        return messages, {"knobs": self.knob_dict()}

    def chance(self) -> float:
        return 1.0 / self.knobs.n_cities

    def context_guess(self) -> float | None:
        """Answering with the city of a uniformly chosen stated fact: the asked person's own with 1/n_facts, an
        equal city otherwise (cities are drawn with replacement). With updates the candidates are not uniform:
        None."""
        k = self.knobs
        return None if k.updates else guess_among(k.n_facts, k.n_cities)

    def vocabulary(self):
        return NAMES + CITIES[: self.knobs.n_cities] + "lives in moved to where does live ok . ?".split()
