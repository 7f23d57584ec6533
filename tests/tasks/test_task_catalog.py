"""Contract tests for every built-in task: determinism, oracle and wrong answers, chance, closed vocabulary,
knobs that change examples, and one-line errors for bad knobs."""
from __future__ import annotations

import dataclasses
import json

import pytest

from hybrid_eval.tasks.__main__ import lines
from hybrid_eval.tasks.base import CATEGORIES, TaskConfigError, words
from hybrid_eval.tasks.registry import REGISTRY, build, load_builtin

load_builtin()
BUILTIN = sorted(n for n, cls in REGISTRY.items() if cls.__module__.startswith("hybrid_eval.tasks."))
N = 4

# for every knob of every built-in task: a valid value other than the default
ALTERNATIVES = {
    "mqar": {"n_pairs": 4, "n_queries": 2, "n_keys": 32, "n_values": 16, "distractors": 8, "filler": "blank"},
    "fact_recall": {"n_facts": 6, "n_questions": 1, "updates": 2, "n_cities": 4},
    "one_fact_qa": {"n_facts": 3, "n_colors": 4},
    "arith_step": {"max_operand": 20, "op": "times", "speakers": 0},
    "short_copy": {"length": 7, "n_words": 4},
    "niah_single": {"context_tokens": 256, "needle_depth": 0.5, "haystack": "noise", "n_values": 10, "value_words": 3},
    "niah_multikey": {"context_tokens": 256, "needle_depth": 0.5, "haystack": "noise", "n_values": 10, "value_words": 3, "n_keys": 8},
    "niah_multivalue": {"context_tokens": 256, "needle_depth": 0.5, "haystack": "noise", "n_values": 10, "value_words": 3, "values": 2},
    "niah_multiquery": {"context_tokens": 256, "needle_depth": 0.5, "haystack": "noise", "n_values": 10, "value_words": 3, "queries": 2},
    "variable_tracking": {"context_tokens": 256, "hops": 2, "chains": 3, "haystack": "sentences", "n_values": 10},
    "fact_chain": {"hops": 5, "distractors": 0},
    "arith_program": {"steps": 8, "max_operand": 5, "modulus": 10},
    "parity": {"length": 5},
    "permutation": {"n_items": 3, "steps": 3, "ask": "place"},
    "stack": {"ops": 12, "n_symbols": 4, "ask": "stack"},
    "palindrome": {"length": 5, "n_symbols": 3, "mode": "reverse"},
    "mrcr": {"rounds": 8, "same_topic": 3, "poem_words": 3},
    "knowledge_update": {"n_keys": 5, "updates": 0, "distractor_updates": 0, "n_values": 10},
    "slot_tracking": {"turns": 4, "changes": 0, "ask": "slot"},
    "tool_episode": {"turns": 3, "n_accounts": 5, "n_files": 0, "n_events": 0},
}

# bad knob values; the first key of each dict is the bad one and must be named in the message
INVALID = {
    "mqar": [{"n_pairs": 0}, {"filler": "zeros"}],
    "fact_recall": [{"n_facts": 0}],
    "one_fact_qa": [{"n_colors": 1}],
    "arith_step": [{"max_operand": 0}, {"op": "divide"}, {"speakers": 33}],
    "short_copy": [{"length": 0}, {"n_words": 1}],
    "niah_single": [{"context_tokens": 10}, {"needle_depth": 1.5}, {"needle_depth": -0.1}, {"haystack": "essay"},
                    {"n_values": 1}, {"value_words": 0}],
    "niah_multikey": [{"n_keys": 0}, {"context_tokens": 256, "n_keys": 60}],
    "niah_multivalue": [{"values": 20}, {"values": 5, "n_values": 2, "value_words": 2}],
    "niah_multiquery": [{"queries": 0}, {"context_tokens": 100, "queries": 8}],
    "variable_tracking": [{"hops": 0}, {"chains": 20, "hops": 4}, {"context_tokens": 50}, {"haystack": "x"},
                          {"n_values": 2, "chains": 3}],
    "fact_chain": [{"hops": 0}, {"distractors": 100}],
    "arith_program": [{"steps": 0}, {"modulus": 1}, {"max_operand": 1}],
    "parity": [{"length": 0}],
    "permutation": [{"n_items": 1}, {"steps": 0}, {"ask": "x"}],
    "stack": [{"ops": 0}, {"n_symbols": 1}, {"ask": "bottom"}],
    "palindrome": [{"length": 1}, {"mode": "x"}, {"n_symbols": 1}],
    "mrcr": [{"rounds": 0}, {"same_topic": 7}, {"poem_words": 1}],
    "knowledge_update": [{"n_keys": 0}, {"updates": -1}, {"distractor_updates": 1, "n_keys": 1}, {"n_values": 1}],
    "slot_tracking": [{"turns": 5}, {"changes": -1}, {"ask": "x"}],
    "tool_episode": [{"turns": 0}, {"n_accounts": 0}, {"n_files": 99}, {"n_events": -1}],
}


def gold(example) -> list[str]:
    return [example["messages"][t]["content"] for t in example["scored_turns"]]


def test_catalog_covers_design_section_6():
    wanted = {
        "short": {"one_fact_qa", "arith_step", "short_copy"},
        "long_context": {"niah_single", "niah_multikey", "niah_multivalue", "niah_multiquery", "mqar", "variable_tracking"},
        "reasoning": {"fact_chain", "arith_program", "parity", "permutation", "stack", "palindrome"},
        "multi_turn": {"tool_episode", "mrcr", "knowledge_update", "slot_tracking"},
    }
    for category, names in wanted.items():
        assert names <= {n for n in BUILTIN if REGISTRY[n].category == category}, category


def test_tables_cover_every_knob():
    for name in BUILTIN:
        knobs = {f.name for f in dataclasses.fields(REGISTRY[name].Knobs)}
        assert set(ALTERNATIVES[name]) == knobs, name
        assert INVALID[name], name


@pytest.mark.parametrize("name", BUILTIN)
def test_metadata(name):
    cls = REGISTRY[name]
    assert cls.category in CATEGORIES
    assert cls.description and cls.follows and cls.version >= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(build(name).knobs, dataclasses.fields(cls.Knobs)[0].name, 1)


@pytest.mark.parametrize("name", BUILTIN)
def test_generation_is_deterministic(name):
    a = json.dumps(build(name).generate(N, 0, "test"), sort_keys=True)
    b = json.dumps(build(name).generate(N, 0, "test"), sort_keys=True)
    c = json.dumps(build(name).generate(N, 1, "test"), sort_keys=True)
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", BUILTIN)
def test_oracle_scores_one_and_wrong_answer_zero(name):
    task = build(name)
    for ex in task.generate(N, 0, "test"):
        assert ex["scored_turns"]
        assert task.score(ex, gold(ex)) == 1.0
        assert task.score(ex, ["qqq"] * len(ex["scored_turns"])) == 0.0


@pytest.mark.parametrize("name", BUILTIN)
def test_chance_is_a_probability(name):
    assert 0.0 < build(name).chance() < 1.0
    for key, value in ALTERNATIVES[name].items():
        assert 0.0 < build(name, **{key: value}).chance() < 1.0, key


@pytest.mark.parametrize("name", BUILTIN)
def test_every_word_is_in_the_vocabulary(name):
    for knobs in [{}] + [{k: v} for k, v in ALTERNATIVES[name].items()]:
        task = build(name, **knobs)
        vocab = set(task.vocabulary())
        for ex in task.generate(8, 0, "train"):
            for m in ex["messages"]:
                missing = set(words(m["content"])) - vocab
                assert not missing, (knobs, m["role"], sorted(missing))


@pytest.mark.parametrize("name", BUILTIN)
def test_each_knob_changes_the_examples(name):
    base = json.dumps(build(name).generate(N, 0, "test"))
    for key, value in ALTERNATIVES[name].items():
        assert json.dumps(build(name, **{key: value}).generate(N, 0, "test")) != base, key


@pytest.mark.parametrize("name", BUILTIN)
def test_bad_knobs_raise_one_line(name):
    for knobs in INVALID[name]:
        with pytest.raises(TaskConfigError) as err:
            build(name, **knobs)
        msg = str(err.value)
        key, value = next(iter(knobs.items()))
        assert "\n" not in msg
        assert msg.startswith(name)
        assert f"{key}={value}" in msg or f"{key}={value!r}" in msg, msg
        assert "accepted" in msg
    with pytest.raises(TaskConfigError, match="no knob 'nope'"):
        build(name, nope=1)


def test_splits_are_disjoint_and_ids_stable():
    task = build("parity", length=6)  # 64 bit strings: small enough for collisions without exclusion
    test = task.generate(20, 0, "test")
    from hybrid_eval.tasks.base import example_hash

    train = task.generate(20, 0, "train", exclude=frozenset(example_hash(e) for e in test))
    assert not {example_hash(e) for e in test} & {example_hash(e) for e in train}
    assert [e["id"] for e in test] == [f"parity-test-{i}" for i in range(20)]


def test_python_m_tasks_lists_every_task():
    out = lines()
    assert len(out) == len(REGISTRY)
    row = next(line for line in out if line.startswith("fact_chain "))
    assert row.split()[:4] == ["fact_chain", "reasoning", "hops=3", "distractors=6"]


def test_python_m_tasks_prints_the_listing(capsys):
    from hybrid_eval.tasks.__main__ import main

    assert main([]) == 0
    assert capsys.readouterr().out.splitlines() == lines()


_DIGEST = """
import hashlib, json
from hybrid_eval.tasks.registry import REGISTRY, build, load_builtin
load_builtin()
names = sorted(n for n, c in REGISTRY.items() if c.__module__.startswith("hybrid_eval.tasks."))
data = [build(n).generate(3, 0, "test") for n in names] + [build(n).vocabulary() for n in names]
print(hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest())
"""


def test_generation_is_identical_across_processes():
    """Byte-identical data in fresh interpreters with different hash seeds (no set-order leaks)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(root))
        out = subprocess.run([sys.executable, "-c", _DIGEST], cwd=root, env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_a_knob_added_later_keeps_the_default_data_stream():
    """mqar's `filler` came after its data were published: at its default the fingerprint (and so every example and
    cache key) is what it was without the knob; another value gives another stream."""
    import hashlib

    task = build("mqar")
    before = {k: v for k, v in task.knob_dict().items() if k != "filler"}  # the knob dict of task version 2 before
    assert task.fingerprint() == hashlib.sha256(json.dumps(["mqar", 2, before], sort_keys=True).encode()).hexdigest()[:16]
    # the quick suite's mqar, fingerprinted by the code before the knob existed (commit b10c0c5)
    assert build("mqar", n_pairs=8, n_keys=64, n_values=64).fingerprint() == "9db090a84f823f39"
    assert build("mqar", filler="blank").fingerprint() != task.fingerprint()
    assert build("mqar", filler="blank").generate(2, 0, "test") != task.generate(2, 0, "test")
