"""k-hop fact chains among distractors: "the key is in the box . the box is in the bag . the bag is in rome ."

The asked object reaches a city through `hops` "is in" links; `distractors` more links form other chains
(as long as the asked one where they can be) of other objects ending in other cities. All links are
shuffled, so the answer needs every hop: no surface cue (last mention, the only city) gives it.
"where is the key ?" -> "rome". Score: exact match. Chance: 1 / number of cities.

(A chain of gifts, "ann gave the key to bob . bob gave the key to carl .", was rejected: it repeats the
object in every link, so the last holder is found by matching one word, not by following hops.)
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import CITIES, OBJECTS


@register
class FactChain(Task):
    name = "fact_chain"
    category = "reasoning"
    version = 1
    description = "follow a chain of 'is in' facts, shuffled among distractor chains, to a city"
    follows = "k-hop reasoning over composed facts (MiniMax-M2's multi-hop deficit)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        hops: int = 3  # links from the asked object to its city
        distractors: int = 6  # links of other chains

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.hops <= 16:
            raise TaskConfigError(f"fact_chain: hops={k.hops}; accepted: 1..16")
        top_chains = len(CITIES) - 1
        top = min(top_chains * k.hops, len(OBJECTS) - k.hops)
        if not 0 <= k.distractors <= top:
            raise TaskConfigError(
                f"fact_chain: distractors={k.distractors} with hops={k.hops}; accepted: 0..{top} "
                f"(distractor chains of {k.hops} links, each to its own city of {len(CITIES)}; {len(OBJECTS)} objects)"
            )

    def make_example(self, rng):
        k = self.knobs
        lengths = [k.hops] + [min(k.hops, k.distractors - i) for i in range(0, k.distractors, k.hops)]
        objects = iter(rng.sample(OBJECTS, sum(lengths)))
        cities = rng.sample(CITIES, len(lengths))
        chains = []
        for n, city in zip(lengths, cities):
            chains.append([next(objects) for _ in range(n)] + [city])
        links = [f"the {c[i]} is in the {c[i + 1]} ." if i + 2 < len(c) else f"the {c[i]} is in {c[i + 1]} ."
                 for c in chains for i in range(len(c) - 1)]
        rng.shuffle(links)
        text = " ".join(links) + f" where is the {chains[0][0]} ?"
        return [user(text), assistant(cities[0])], {"knobs": self.knob_dict(), "chain": chains[0], "chains": len(chains)}

    def chance(self) -> float:
        return 1.0 / len(CITIES)

    def vocabulary(self):
        return OBJECTS + CITIES + "the is in where . ?".split()
