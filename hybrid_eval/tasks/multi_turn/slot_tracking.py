"""Slot tracking across a booking dialogue (dialogue state tracking, MultiWOZ style).

The user gives the four slots of a booking, name, city, day and count, over `turns` turns ("the booking
is for ann . we are 4 people ."), and changes a slot already given in `changes` more turns, placed at
random after the first ("actually , change the city to rome ."); the assistant acknowledges ("ok", not
scored). The last turn asks for one slot (`ask="slot"`: "what is the day of the booking ?" -> "monday")
or the whole form (`ask="form"`: "read back the booking ." -> "name ann , city rome , day monday ,
count 4"). Score: exact match for a slot; for the form, the fraction of slots right (slot accuracy), read
from "SLOT VALUE" parts separated by ",". Chance: the mean over slots of 1 / number of values.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, normalize, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import CITIES, NAMES
from hybrid_eval.tasks.vocab_extra import DAYS

SLOTS = {"name": NAMES, "city": CITIES, "day": DAYS, "count": [str(n) for n in range(1, 10)]}
_GIVE = {
    "name": "the booking is for {} .",
    "city": "we want to go to {} .",
    "day": "we want it on {} .",
    "count": "we are {} people .",
}
ASKS = ("slot", "form")


def read_form(text: str) -> dict[str, str]:
    """{slot: value} from "name ann , city rome , ..." (the first value given for a slot counts)."""
    form: dict[str, str] = {}
    for part in normalize(text).split(","):
        slot, _, value = part.strip().partition(" ")
        if slot in SLOTS and slot not in form:
            form[slot] = value.strip()
    return form


@register
class SlotTracking(Task):
    name = "slot_tracking"
    category = "multi_turn"
    version = 1
    description = "track the slots of a booking that the user gives and changes over a dialogue"
    follows = "dialogue state tracking (MultiWOZ joint/slot accuracy)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        turns: int = 2  # user turns that give the four slots (1..4)
        changes: int = 2  # user turns that change a slot already given
        ask: str = "form"  # "slot": one slot; "form": all four

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.turns <= len(SLOTS):
            raise TaskConfigError(f"slot_tracking: turns={k.turns}; accepted: 1..{len(SLOTS)}")
        if not 0 <= k.changes <= 64:
            raise TaskConfigError(f"slot_tracking: changes={k.changes}; accepted: 0..64")
        if k.ask not in ASKS:
            raise TaskConfigError(f"slot_tracking: ask={k.ask!r}; accepted: {', '.join(ASKS)}")

    def make_example(self, rng):
        k = self.knobs
        order = rng.sample(list(SLOTS), len(SLOTS))
        cuts = sorted(rng.sample(range(1, len(SLOTS)), k.turns - 1))
        groups = [order[a:b] for a, b in zip([0] + cuts, cuts + [len(SLOTS)])]
        plan: list[list[str] | None] = list(groups)  # a list of slots to give, or None for a change
        for _ in range(k.changes):
            plan.insert(rng.randint(1, len(plan)), None)
        form: dict[str, str] = {}
        messages = []
        for step in plan:
            if step is None:
                slot = rng.choice(sorted(form))
                form[slot] = rng.choice([v for v in SLOTS[slot] if v != form[slot]])
                text = f"actually , change the {slot} to {form[slot]} ."
            else:
                for slot in step:
                    form[slot] = rng.choice(SLOTS[slot])
                text = " ".join(_GIVE[slot].format(form[slot]) for slot in step)
            messages += [user(text), assistant("ok", scored=False)]
        if k.ask == "slot":
            slot = rng.choice(list(SLOTS))
            messages += [user(f"what is the {slot} of the booking ?"), assistant(form[slot])]
        else:
            answer = " , ".join(f"{slot} {form[slot]}" for slot in SLOTS)
            messages += [user("read back the booking ."), assistant(answer)]
        return messages, {"knobs": self.knob_dict(), "form": form, "plan": [s or "change" for s in plan]}

    def score_turn(self, example, turn, output):
        if self.knobs.ask == "slot":
            return super().score_turn(example, turn, output)
        gold, said = read_form(example["messages"][turn]["content"]), read_form(output)
        return sum(said.get(s) == v for s, v in gold.items()) / len(gold)

    def chance(self) -> float:
        return sum(1.0 / len(v) for v in SLOTS.values()) / len(SLOTS)

    def vocabulary(self):
        fixed = "the booking is for we want to go it on are people actually , change what of read back ok . ?"
        return [v for vals in SLOTS.values() for v in vals] + list(SLOTS) + fixed.split()
