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


PLUGIN = '''
from hybrid_eval.tasks import Task, assistant, register, user


@register
class EditedTask(Task):
    name = "edited_task"
    category = "short"

    def make_example(self, rng):
        n = rng.randrange(1000)
        return [user(f"say {n}"), assistant(str(n + OFFSET))], {}
'''


def test_editing_a_task_without_a_version_bump_never_serves_cached_data(tmp_path):
    """The cache key holds the task file's hash: an edited make_example gives new data, not the cached old data."""
    import sys

    from hybrid_eval.tasks.registry import REGISTRY, build, include

    plugin = tmp_path / "edited_task.py"
    answers = []
    for offset in (0, 1):
        plugin.write_text(f"OFFSET = {offset}\n" + PLUGIN)
        forget_plugin()  # a fresh process, as a rerun after the edit

        include(str(plugin))
        task = build("edited_task")
        cached = load_splits(task, {"test": 5}, seed=1, cache_dir=tmp_path / "cache")
        assert cached == load_splits(task, {"test": 5}, seed=1, cache_dir=None)
        answers.append([int(e["messages"][1]["content"]) for e in cached["test"]])
    assert answers[1] == [a + 1 for a in answers[0]]  # the same draws (same fingerprint), the edited answers
    forget_plugin()


def forget_plugin():
    """Unregister the plugin's task and drop its module (the registry names it hybrid_eval_plugin_<stem>_<path hash>)."""
    import sys

    from hybrid_eval.tasks.registry import REGISTRY

    REGISTRY.pop("edited_task", None)
    for name in [m for m in sys.modules if m.startswith("hybrid_eval_plugin_edited_task")]:
        sys.modules.pop(name)


def test_an_inline_suite_is_named_after_its_tasks():
    """`suite.tasks=[...]` on top of `suite=quick` is not `quick`; a knob sweep of quick's own tasks still is."""
    from omegaconf import OmegaConf

    from tests.conftest import compose_config

    inline = compose_config(["suite.tasks=[{name:one_fact_qa,knobs:{n_facts:1}},{name:mqar}]"]).suite
    assert Suite.from_config(inline).name == "one_fact_qa+mqar"
    quick = compose_config(["suite=quick"]).suite
    assert quick.name == "quick" and Suite.from_config(quick).name == "quick"
    swept = OmegaConf.to_container(quick)
    swept["tasks"][1]["knobs"] = {**swept["tasks"][1]["knobs"], "n_pairs": 4}
    assert Suite.from_config(OmegaConf.create(swept)).name == "quick"
    named = compose_config(["suite.name=mine", "suite.tasks=[{name:mqar}]"]).suite
    assert Suite.from_config(named).name == "mine"
    long = compose_config(["suite.tasks=[" + ",".join(f"{{name:mqar,alias:mqar_number_{i}}}" for i in range(6)) + "]"]).suite
    assert Suite.from_config(long).name.startswith("6-tasks-")
