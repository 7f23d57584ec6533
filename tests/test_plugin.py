"""The README's "Add a task" example: a plugin file registers a task that a run can use without package edits."""
import json
import os
import subprocess
import sys

from omegaconf import OmegaConf

from hybrid_eval.tasks.data import Suite, load_splits
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "count_task.py"


def test_plugin_registers_and_scores():
    suite = Suite.from_config(OmegaConf.create({"name": "s", "include": [str(EXAMPLE)],
                                                "tasks": [{"name": "word_count", "knobs": {"length": 6}}]}))
    task = suite.tasks[0]
    ex = load_splits(task, {"test": 5}, 0, None)["test"][0]
    gold = ex["messages"][1]["content"]
    assert task.score(ex, [gold]) == 1.0
    assert task.score(ex, [str(int(gold) + 1)]) == 0.0
    assert task.chance() == 1 / 7


def test_a_run_uses_the_plugin(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", "~experiment", "logger=none", "threads=1",
                          f"suite.include=[{EXAMPLE}]", "suite.tasks=[{name: word_count, knobs: {length: 4}}]",
                          "model.size=tiny", "train.max_steps=2", "train.n_examples=20", "train.n_validation=2",
                          "eval.n_test=3", f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["tasks"]["word_count"]["n"] == 3 and res["tasks"]["word_count"]["chance"] == 0.2
