"""`context_guess()`: the score of answering with a uniformly drawn candidate from the context, checked against
simulation (the level full-attention probes sit on before they match keys; reports/probe-training.md §5-6)."""
from __future__ import annotations

import math
import random
import re

import pytest

from hybrid_eval.tasks.registry import build, load_builtin

load_builtin()
N = 600


def _simulated(task, answer_from_context) -> tuple[float, float]:
    """(mean score, its standard error) of `answer_from_context(example, rng) -> outputs` over N test examples."""
    rng = random.Random(7)
    scores = [task.score(ex, answer_from_context(ex, rng)) for ex in task.generate(N, 0, "test")]
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    return mean, sd / math.sqrt(len(scores))


def _mqar_guess(ex, rng):
    text = ex["messages"][0]["content"]
    values = re.findall(r"\d+", text.split("numbers of")[0])  # keys and distractors are words
    gold = ex["messages"][ex["scored_turns"][0]]["content"].split()
    return [" ".join(w if i % 2 == 0 else rng.choice(values) for i, w in enumerate(gold))]


def _fact_guess(ex, rng):
    cities = [m["content"].split(" lives in ")[1].rstrip(" .") for m in ex["messages"] if " lives in " in m["content"]]
    return [rng.choice(cities) for _ in ex["scored_turns"]]


@pytest.mark.parametrize("knobs", [{}, {"n_values": 3, "n_pairs": 4}, {"n_pairs": 2, "distractors": 5}])
def test_mqar_context_guess_matches_simulation(knobs):
    task = build("mqar", **knobs)
    mean, se = _simulated(task, _mqar_guess)
    assert abs(mean - task.context_guess()) < 4 * se + 1e-9, (mean, task.context_guess(), se)
    assert task.context_guess() > task.chance()


@pytest.mark.parametrize("knobs", [{}, {"n_cities": 2, "n_facts": 3}])
def test_fact_recall_context_guess_matches_simulation(knobs):
    task = build("fact_recall", **knobs)
    mean, se = _simulated(task, _fact_guess)
    assert abs(mean - task.context_guess()) < 4 * se + 1e-9, (mean, task.context_guess(), se)


def test_no_context_guess_where_candidates_are_not_uniform_or_absent():
    assert build("fact_recall", updates=1).context_guess() is None
    assert build("one_fact_qa").context_guess() is None  # the base class: no candidates declared
