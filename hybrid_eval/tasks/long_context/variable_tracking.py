"""Variable tracking, RULER's VT (Hsieh et al. 2024): follow chains of assignments through a haystack.

"var x3 = 42 . ... var x17 = x3 . ... var x40 = x17 ." Each of `chains` chains starts with a number and
passes it on through `hops` assignments; the statements keep their chain's order and sit at random depths
in a haystack of filler (RULER's noise by default). The question gives one chain's number; the answer is
every variable that holds it, in assignment order ("x3 x17 x40"). The prompt is `context_tokens` words long
within ±10%. Score: |gold ∩ said| / max(|gold|, |said|) over the variable names said (RULER counts the
names found). Chance: (hops + 1) / number of variable names.
"""
from __future__ import annotations

import dataclasses

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user, words
from hybrid_eval.tasks.long_context import haystack
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import numbers
from hybrid_eval.tasks.vocab_extra import VARIABLES

HEADER = "memorize the variables assigned in the text below ."
MAX_CONTEXT = 1 << 20
_TEMPLATE_WORDS = "memorize the variables assigned in text below var which hold value = . ?".split()


@register
class VariableTracking(Task):
    name = "variable_tracking"
    category = "long_context"
    version = 1
    description = "name every variable that a chain of assignments gives one value"
    follows = "RULER variable tracking (Hsieh et al. 2024)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        context_tokens: int = 512  # prompt length in words (±10%)
        hops: int = 4  # assignments after the first in each chain (a chain names hops + 1 variables)
        chains: int = 1  # chains in the text; one is asked for, the others distract
        haystack: str = "noise"  # "noise" (RULER's repeated sentences) or "sentences" (templated, varied)
        n_values: int = 100  # chain values are distinct numbers 0 .. n_values-1

    def _fixed_words(self) -> int:
        k = self.knobs
        statements = k.chains * (k.hops + 1) * len(words("var x1 = 42 ."))
        return len(words(HEADER)) + statements + len(words(self._question("42")))

    @staticmethod
    def _question(value: str) -> str:
        return f"which variables hold the value {value} ?"

    def validate(self) -> None:
        k = self.knobs
        if k.haystack not in haystack.KINDS:
            raise TaskConfigError(f"variable_tracking: haystack={k.haystack!r}; accepted: {', '.join(haystack.KINDS)}")
        if not 1 <= k.hops <= 32:
            raise TaskConfigError(f"variable_tracking: hops={k.hops}; accepted: 1..32")
        if not 1 <= k.chains <= len(VARIABLES) // (k.hops + 1):
            raise TaskConfigError(
                f"variable_tracking: chains={k.chains} with hops={k.hops} needs {k.chains * (k.hops + 1)} variable names; "
                f"accepted: 1..{len(VARIABLES) // (k.hops + 1)} ({len(VARIABLES)} names)"
            )
        if not k.chains <= k.n_values <= 1000:
            raise TaskConfigError(f"variable_tracking: n_values={k.n_values}; accepted: chains ({k.chains})..1000")
        low = max(self._fixed_words() + 2 * haystack.MAX_SENTENCE, 10 * haystack.MAX_SENTENCE)
        if not low <= k.context_tokens <= MAX_CONTEXT:
            raise TaskConfigError(
                f"variable_tracking: context_tokens={k.context_tokens} cannot hold {k.chains} chain(s) of {k.hops} hop(s), "
                f"the header and the question; accepted: {low}..{MAX_CONTEXT}"
            )

    def make_example(self, rng):
        k = self.knobs
        names = rng.sample(VARIABLES, k.chains * (k.hops + 1))
        values = [str(v) for v in rng.sample(range(k.n_values), k.chains)]
        chains = [names[c * (k.hops + 1) : (c + 1) * (k.hops + 1)] for c in range(k.chains)]
        # interleave the chains at random, each chain in its own order
        pending = [list(range(k.hops + 1)) for _ in chains]
        statements = []
        while any(pending):
            c = rng.choice([c for c, p in enumerate(pending) if p])
            j = pending[c].pop(0)
            rhs = values[c] if j == 0 else chains[c][j - 1]
            statements.append(f"var {chains[c][j]} = {rhs} .")
        hay = haystack.filler(rng, k.haystack, k.context_tokens - self._fixed_words())
        depths = sorted(rng.random() for _ in statements)
        body = haystack.insert(hay, list(zip(depths, statements)))
        asked = rng.randrange(k.chains)
        prompt = " ".join([HEADER, *body, self._question(values[asked])])
        meta = {"knobs": self.knob_dict(), "chains": chains, "values": values, "asked": asked}
        return [user(prompt), assistant(" ".join(chains[asked]))], meta

    def score_turn(self, example, turn, output):
        gold = set(example["messages"][turn]["content"].split())
        known = set(VARIABLES)
        said = {w for w in words(output) if w in known}
        return len(gold & said) / max(len(gold), len(said))

    def chance(self) -> float:
        return (self.knobs.hops + 1) / len(VARIABLES)

    def vocabulary(self):
        return sorted(set(haystack.vocabulary(self.knobs.haystack) + VARIABLES + numbers(self.knobs.n_values) + _TEMPLATE_WORDS))
