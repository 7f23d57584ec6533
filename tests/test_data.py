"""Suites and cached data: splits are disjoint, cached data equals fresh data, aliases allow difficulty sweeps."""
import pytest
from omegaconf import OmegaConf

from hybrid_eval.tasks import TaskConfigError, build, example_hash
from hybrid_eval.tasks.data import Suite, load_splits


def test_splits_are_disjoint_and_cache_returns_identical_data(tmp_path):
    task = build("one_fact_qa", n_facts=1, n_colors=4)  # small space: collisions must be skipped
    sizes = {"train": 300, "validation": 50, "test": 50}
    fresh = load_splits(task, sizes, seed=3, cache_dir=None)
    cached = load_splits(task, sizes, seed=3, cache_dir=tmp_path)
    again = load_splits(task, sizes, seed=3, cache_dir=tmp_path)
    assert fresh == cached == again
    hashes = {s: {example_hash(e) for e in ex} for s, ex in fresh.items()}
    assert not hashes["train"] & hashes["test"] and not hashes["train"] & hashes["validation"]
    assert not hashes["validation"] & hashes["test"]
    assert [len(fresh[s]) for s in ("train", "validation", "test")] == [300, 50, 50]


def test_a_suite_may_hold_one_task_at_several_difficulties_by_alias():
    cfg = OmegaConf.create({"name": "s", "tasks": [
        {"name": "mqar", "alias": "mqar_4", "knobs": {"n_pairs": 4}},
        {"name": "mqar", "alias": "mqar_16", "knobs": {"n_pairs": 16}},
    ]})
    suite = Suite.from_config(cfg)
    assert [t.alias for t in suite.tasks] == ["mqar_4", "mqar_16"]
    a, b = (load_splits(t, {"test": 3}, 0, None)["test"] for t in suite.tasks)
    assert a[0]["id"] == "mqar_4-test-0" and b[0]["id"] == "mqar_16-test-0"
    assert a[0]["messages"][0]["content"].count(",") == 3 and b[0]["messages"][0]["content"].count(",") == 15


def test_duplicate_entries_without_alias_are_one_line_errors():
    cfg = OmegaConf.create({"name": "s", "tasks": ["mqar", "mqar"]})
    with pytest.raises(TaskConfigError, match="alias"):
        Suite.from_config(cfg)
