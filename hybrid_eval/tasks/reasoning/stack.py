"""A stack under push and pop: "push cup . push lamp . pop . push key . what is on top ?" -> "key".

`ops` operations over `n_symbols` objects; a pop never meets an empty stack and the stack is not empty at
the end. With `ask="top"` the answer is the top item; with `ask="stack"` the whole stack, bottom to top
("cup key"). Score: exact match. Chance: 1 / n_symbols (top); for the stack, 1 / the number of stacks a
uniform guess could name (every length the operations allow).
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import OBJECTS

ASKS = ("top", "stack")


@register
class Stack(Task):
    name = "stack"
    category = "reasoning"
    version = 1
    description = "track a stack under push and pop operations"
    follows = "stack manipulation (Chomsky-hierarchy tasks, Deletang et al. 2023)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        ops: int = 8  # push and pop operations
        n_symbols: int = 16  # pushed items are drawn from this many objects
        ask: str = "top"  # "top": the top item; "stack": the whole stack, bottom to top

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.ops <= 128:
            raise TaskConfigError(f"stack: ops={k.ops}; accepted: 1..128")
        if not 2 <= k.n_symbols <= len(OBJECTS):
            raise TaskConfigError(f"stack: n_symbols={k.n_symbols}; accepted: 2..{len(OBJECTS)}")
        if k.ask not in ASKS:
            raise TaskConfigError(f"stack: ask={k.ask!r}; accepted: {', '.join(ASKS)}")

    def make_example(self, rng):
        k = self.knobs
        stack, lines = [], []
        for i in range(k.ops):
            last = i == k.ops - 1
            # pop only from a non-empty stack, and never pop the last item with the last operation
            if stack and rng.random() < 0.5 and not (last and len(stack) == 1):
                stack.pop()
                lines.append("pop .")
            else:
                stack.append(rng.choice(OBJECTS[: k.n_symbols]))
                lines.append(f"push {stack[-1]} .")
        if k.ask == "top":
            lines.append("what is on top ?")
            answer = stack[-1]
        else:
            lines.append("what is on the stack , bottom to top ?")
            answer = " ".join(stack)
        return [user(" ".join(lines)), assistant(answer)], {"knobs": self.knob_dict(), "depth": len(stack)}

    def chance(self) -> float:
        k = self.knobs
        if k.ask == "top":
            return 1.0 / k.n_symbols
        # a stack left after `ops` operations has a length of the same parity as ops, 1 .. ops
        return 1.0 / sum(float(k.n_symbols) ** n for n in range(1, k.ops + 1) if (k.ops - n) % 2 == 0)

    def vocabulary(self):
        return OBJECTS[: self.knobs.n_symbols] + "push pop what is on top the stack bottom to , . ?".split()
