"""Knowledge updates across turns: a value stated, then changed, and asked for at the end (latest wins).

The first `n_keys` user turns each state one price ("the price of the lamp is 40 ."); then `updates` turns
change the asked object's price and `distractor_updates` turns change other objects' prices, in random
order ("the price of the lamp is now 55 ."); the assistant acknowledges each turn ("ok", not scored). The
last turn asks "what is the price of the lamp now ?". Every update changes the value, so each earlier
value is a wrong answer. Score: exact match. Chance: 1 / n_values.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import OBJECTS, numbers


@register
class KnowledgeUpdate(Task):
    name = "knowledge_update"
    category = "multi_turn"
    version = 1
    description = "give the latest value of a fact that was updated over the dialogue"
    follows = "knowledge updates (LongMemEval, Wu et al. 2024)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        n_keys: int = 3  # objects with a price; one is asked for
        updates: int = 2  # changes to the asked object's price
        distractor_updates: int = 2  # changes to the other objects' prices
        n_values: int = 100  # prices are 0 .. n_values-1

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.n_keys <= len(OBJECTS):
            raise TaskConfigError(f"knowledge_update: n_keys={k.n_keys}; accepted: 1..{len(OBJECTS)}")
        if not 0 <= k.updates <= 64:
            raise TaskConfigError(f"knowledge_update: updates={k.updates}; accepted: 0..64")
        top = 64 if k.n_keys > 1 else 0
        if not 0 <= k.distractor_updates <= top:
            raise TaskConfigError(
                f"knowledge_update: distractor_updates={k.distractor_updates} with n_keys={k.n_keys}; "
                f"accepted: 0..{top} (needs n_keys >= 2)"
            )
        if not 2 <= k.n_values <= 1000:
            raise TaskConfigError(f"knowledge_update: n_values={k.n_values}; accepted: 2..1000")

    def make_example(self, rng):
        k = self.knobs
        keys = rng.sample(OBJECTS, k.n_keys)
        price = {key: rng.randrange(k.n_values) for key in keys}
        messages = []
        for key in keys:
            messages += [user(f"the price of the {key} is {price[key]} ."), assistant("ok", scored=False)]
        asked = rng.choice(keys)
        changed = [asked] * k.updates + [rng.choice([o for o in keys if o != asked]) for _ in range(k.distractor_updates)]
        rng.shuffle(changed)
        history = [price[asked]]
        for key in changed:
            price[key] = rng.choice([v for v in range(k.n_values) if v != price[key]])
            if key == asked:
                history.append(price[key])
            messages += [user(f"the price of the {key} is now {price[key]} ."), assistant("ok", scored=False)]
        messages += [user(f"what is the price of the {asked} now ?"), assistant(str(price[asked]))]
        return messages, {"knobs": self.knob_dict(), "history": history}

    def chance(self) -> float:
        return 1.0 / self.knobs.n_values

    def vocabulary(self):
        return OBJECTS + numbers(self.knobs.n_values) + "the price of is now what ok . ?".split()
