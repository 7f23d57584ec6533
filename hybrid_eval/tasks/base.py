"""The `Task` interface: a named generator of chat transcripts plus a scorer (lm-eval's task idea).

An example is a dict with
    id            str, stable within (task, knobs, n, seed, split)
    task          the task's registered name
    messages      [{"role": "system"|"user"|"assistant"|"tool", "content": str}, ...]; assistant
                  contents are the gold answers
    scored_turns  indices into `messages` of the assistant turns that are scored
    meta          JSON string with task-specific data (knob values, environment state, ...)

A task's difficulty knobs are a dataclass (`Task.Knobs`); bad knob values raise `TaskConfigError` with one
line that names the value and what is accepted. Scores are in [0, 1].
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
import typing
from typing import Any, ClassVar

CATEGORIES = ("short", "long_context", "reasoning", "multi_turn")
SPLITS = ("train", "validation", "test")

Example = dict[str, Any]


def guess_among(candidates: int, space: int) -> float:
    """Score of answering with one of `candidates` stated answers chosen uniformly, when the right one is among them
    and each was drawn uniformly, with replacement, from `space` answers: the right one with 1/candidates, another
    that happens to be equal otherwise."""
    return 1.0 / candidates + (1.0 - 1.0 / candidates) / space


class TaskConfigError(ValueError):
    """A task name or knob the user gave is invalid; the message is one line saying what is accepted."""


_WORD = re.compile(r"\w+|[^\w\s]")


def normalize(text: str) -> str:
    """Canonical form for exact match: lower case, words and punctuation split by single spaces."""
    return " ".join(_WORD.findall(text.lower()))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Task:
    """Base class. Subclasses set `name`, `category`, `version`, `Knobs` and implement `make_example`."""

    name: ClassVar[str]
    category: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    follows: ClassVar[str] = ""  # the benchmark or paper the task follows
    # knobs added after the task's data were first generated: at their default they stay out of `fingerprint`, so
    # existing suites keep drawing exactly the same examples (a knob that changes the default stream needs `version`)
    added_knobs: ClassVar[tuple[str, ...]] = ()

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        pass

    def __init__(self, **knobs: Any):
        fields = {f.name for f in dataclasses.fields(self.Knobs)}
        unknown = sorted(set(knobs) - fields)
        if unknown:
            raise TaskConfigError(
                f"task '{self.name}' has no knob {unknown[0]!r}; accepted knobs: {', '.join(sorted(fields)) or 'none'}"
            )
        try:
            self.knobs = self.Knobs(**knobs)
        except TypeError as e:  # pragma: no cover - dataclass signature errors
            raise TaskConfigError(f"task '{self.name}': {e}") from None
        self.alias = self.name  # the label a suite gives this instance (suite entries may set `alias`)
        self._check_types()
        self.validate()

    def _check_types(self) -> None:
        """Each knob has its annotated type (an int is fine for a float; a bool is not an int)."""
        hints = typing.get_type_hints(self.Knobs)
        for f in dataclasses.fields(self.Knobs):
            value = getattr(self.knobs, f.name)
            allowed = typing.get_args(hints[f.name]) or (hints[f.name],)
            if float in allowed:
                allowed += (int,)
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
                raise TaskConfigError(f"task '{self.name}': knob {f.name}={value!r} is a {type(value).__name__}; accepted: {names}")

    # --- to implement -------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise TaskConfigError for knob values that make no sense (one line, accepted range)."""

    def make_example(self, rng: random.Random) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """One transcript and its meta data, drawn with `rng`."""
        raise NotImplementedError

    def chance(self) -> float:
        """Expected score of a uniform guess over the answer space."""
        raise NotImplementedError

    def context_guess(self) -> float | None:
        """Expected score of answering with a candidate drawn uniformly from the context (one of the stated values,
        facts, ...), for recall tasks; None where the task has no such candidates. A recall model sits at this
        level before it learns to match keys: a small attention probe can stay there for thousands of steps
        (reports/probe-training.md §5-6), so the report flags scores at it. See `guess_among`."""
        return None

    def vocabulary(self) -> list[str]:
        """Every word the task can produce (for the probe tokenizer)."""
        raise NotImplementedError

    # --- shared behaviour ---------------------------------------------------------------------------
    def score_turn(self, example: Example, turn: int, output: str) -> float:
        """Exact match after `normalize`; tasks with partial credit override this."""
        gold = example["messages"][turn]["content"]
        return float(normalize(output) == normalize(gold))

    def score(self, example: Example, outputs: list[str]) -> float:
        """Mean over the scored turns; `outputs` has one string per entry of `scored_turns`."""
        turns = example["scored_turns"]
        if len(outputs) != len(turns):
            raise ValueError(f"{self.name}: got {len(outputs)} outputs for {len(turns)} scored turns")
        return sum(self.score_turn(example, t, o) for t, o in zip(turns, outputs)) / len(turns)

    def knob_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.knobs)

    def generate(self, n: int, seed: int, split: str, exclude: frozenset[str] = frozenset()) -> list[Example]:
        """`n` examples; the same (task, version, knobs, n, seed, split, exclude) always gives identical examples.

        Examples whose `example_hash` is in `exclude` (the other splits) are skipped and drawn again, so
        train, validation and test never share an example.
        """
        if split not in SPLITS:
            raise TaskConfigError(f"unknown split {split!r}; accepted: {', '.join(SPLITS)}")
        rng = random.Random(self.stream_seed(seed, split))
        out: list[Example] = []
        draws = 0
        while len(out) < n:
            draws += 1
            if draws > 20 * n + 100:
                raise TaskConfigError(
                    f"{self.name}: cannot draw {n} {split} examples distinct from the other splits with knobs "
                    f"{self.knob_dict()}; the example space is too small: lower n or raise the knobs"
                )
            messages, meta = self.make_example(rng)
            scored = [j for j, m in enumerate(messages) if m["role"] == "assistant" and m.get("scored", True)]
            ex = {
                "id": f"{self.alias}-{split}-{len(out)}",
                "task": self.name,
                "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
                "scored_turns": scored,
                "meta": json.dumps(meta, sort_keys=True),
            }
            if exclude and example_hash(ex) in exclude:
                continue
            out.append(ex)
        return out

    def fingerprint(self) -> str:
        defaults = {f.name: f.default for f in dataclasses.fields(self.Knobs)}
        knobs = {k: v for k, v in self.knob_dict().items() if not (k in self.added_knobs and v == defaults[k])}
        payload = json.dumps([self.name, self.version, knobs], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def stream_seed(self, seed: int, split: str) -> int:
        payload = f"{self.fingerprint()}|{seed}|{split}".encode()
        return int.from_bytes(hashlib.sha256(payload).digest()[:8], "little")


def example_hash(example: Example) -> str:
    """Content hash of a transcript (ignores id): two examples with the same hash are the same example."""
    return hashlib.sha256(json.dumps(example["messages"], sort_keys=True).encode()).hexdigest()


def assistant(content: str, scored: bool = True) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "scored": scored}


def user(content: str) -> dict[str, str]:
    return {"role": "user", "content": content}
