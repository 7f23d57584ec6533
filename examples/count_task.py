"""An example task plugin: count how many times a word occurs in a list (a user's own task, outside the package).

This is the README's "Add a task" file (tests/test_readme.py checks that the two stay the same). Run it with:

    hybrid-eval ~experiment 'suite.include=[examples/count_task.py]' 'suite.tasks=[{name: word_count, knobs: {length: 8}}]'
"""
import dataclasses

from hybrid_eval.tasks import Task, TaskConfigError, assistant, register, user

WORDS = ["red", "blue", "green", "gold"]


@register
class WordCount(Task):
    name = "word_count"      # what suites and command lines call it
    category = "reasoning"   # one of: short, long_context, reasoning, multi_turn (the report's categories)
    version = 1              # bump it when make_example changes; the data cache also keys on this file's contents

    @dataclasses.dataclass(frozen=True)
    class Knobs:             # difficulty knobs, set per suite entry: {name: word_count, knobs: {length: 8}}
        length: int = 8

    def validate(self):      # bad knobs: one line saying what is accepted (the run stops with exit code 2)
        if not 1 <= self.knobs.length <= 64:
            raise TaskConfigError(f"word_count: length={self.knobs.length}; accepted: 1..64")

    def make_example(self, rng):  # -> (messages, meta); draw only from rng, so a seed gives the same examples
        items = [rng.choice(WORDS) for _ in range(self.knobs.length)]
        target = rng.choice(WORDS)
        return [user(f"list : {' '.join(items)} . how many {target} ?"),
                assistant(str(items.count(target)))], {"length": self.knobs.length}

    def chance(self):        # the score of a uniform guess; the report prints every score beside it
        return 1 / (self.knobs.length + 1)

    def vocabulary(self):    # every word the task can produce: the word-level probe tokenizer is built from it
        return WORDS + [str(i) for i in range(self.knobs.length + 1)] + "list : . how many ?".split()
