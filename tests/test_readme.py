"""The README's commands and snippets run as written: the "Add a task" file and its command line."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from hybrid_eval.tasks import TaskConfigError
from hybrid_eval.tasks.registry import include
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
TINY = ["~experiment", "logger=none", "threads=1", "model.size=tiny", "train.max_steps=2", "train.n_examples=20",
        "train.n_validation=2", "eval.n_test=3"]


def section(title: str) -> str:
    start = README.index(f"### {title}\n")
    end = README.find("\n## ", start)
    nxt = README.find("\n### ", start + 1)
    return README[start:min(x for x in (end, nxt) if x != -1)]


def block(text: str, lang: str, index: int = 0) -> str:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)[index]


def test_the_readme_opens_with_the_two_commands_of_the_contract():
    commands = [line for line in block(README, "bash").splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("pip install -e '.[dev]' && hybrid-eval")
    assert commands[1].endswith("pip install -e '.[dev]' && python -m pytest")


@pytest.fixture(scope="module")
def plugin_file(tmp_path_factory):
    """The "Add a task" snippet, saved as the README says (word_count.py)."""
    d = tmp_path_factory.mktemp("plugin")
    (d / "word_count.py").write_text(block(section("Add a task"), "python"))
    return d


def test_the_add_a_task_snippet_is_the_example_file():
    assert block(section("Add a task"), "python") in (ROOT / "examples" / "count_task.py").read_text()


@pytest.fixture
def registry():
    """The task registry, restored after the test (examples/count_task.py registers the same name elsewhere)."""
    from hybrid_eval.tasks import REGISTRY

    saved = dict(REGISTRY)
    REGISTRY.pop("word_count", None)
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(saved)


def test_the_add_a_task_snippet_registers_a_task_that_generates_and_scores(plugin_file, registry):
    from hybrid_eval.tasks import build

    include(str(plugin_file / "word_count.py"))

    task = build("word_count", length=6)
    examples = task.generate(20, 0, "test")
    assert examples == task.generate(20, 0, "test")  # seeded: same data
    for ex in examples:
        gold = ex["messages"][ex["scored_turns"][0]]["content"]
        words = ex["messages"][0]["content"].split()
        target = words[-2]
        assert int(gold) == words[2:words.index(".")].count(target)
        assert task.score(ex, [gold]) == 1.0 and task.score(ex, [str(int(gold) + 1)]) == 0.0
    assert task.chance() == 1 / 7 and task.category == "reasoning"
    with pytest.raises(TaskConfigError, match=r"word_count: length=0; accepted: 1\.\.64"):
        build("word_count", length=0)


def test_the_add_a_task_command_runs_as_written(plugin_file):
    """The README's command, in the folder holding word_count.py, made small with a few overrides after it."""
    (command,) = [line for line in block(section("Add a task"), "bash").splitlines() if line.startswith("hybrid-eval")]
    args = shlex.split(command)[1:]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", *args, *TINY, f"hydra.run.dir={plugin_file / 'run'}"],
                         capture_output=True, text=True, env=env, cwd=plugin_file)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((plugin_file / "run" / "results.json").read_text())
    assert res["tasks"]["word_count"]["n"] == 3 and res["tasks"]["word_count"]["chance"] == 1 / 9
    assert res["tasks"]["word_count"]["category"] == "reasoning"
