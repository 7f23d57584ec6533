"""An example task plugin: count how many times a word occurs in a list (a user's own task, outside the package).

Run it with:  hybrid-eval ~experiment 'suite.include=[examples/count_task.py]' \
                  'suite.tasks=[{name: word_count, knobs: {length: 8}}]'
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks import Task, TaskConfigError, register
from hybrid_eval.tasks.base import assistant, user

WORDS = "red blue green gold".split()


@register
class WordCount(Task):
    name = "word_count"
    category = "reasoning"
    version = 1
    description = "count the occurrences of a word in a list"
    follows = "example plugin"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        length: int = 8  # words in the list

    def validate(self) -> None:
        if not 1 <= self.knobs.length <= 64:
            raise TaskConfigError(f"word_count: length={self.knobs.length}; accepted: 1..64")

    def make_example(self, rng):
        items = [rng.choice(WORDS) for _ in range(self.knobs.length)]
        target = rng.choice(WORDS)
        text = f"list : {' '.join(items)} . how many {target} ?"
        return [user(text), assistant(str(items.count(target)))], {"length": self.knobs.length}

    def chance(self) -> float:
        return 1.0 / (self.knobs.length + 1)

    def vocabulary(self):
        return WORDS + [str(i) for i in range(self.knobs.length + 1)] + "list : . how many ?".split()
