"""Every suite under conf/suite loads, names each task once, and generates data."""
from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from hybrid_eval.tasks.base import CATEGORIES
from hybrid_eval.tasks.data import Suite

SUITES = sorted((Path(__file__).resolve().parents[2] / "conf" / "suite").glob("*.yaml"))
CATEGORY_SUITES = {"short", "long_context", "reasoning", "multi_turn"}


def test_the_suites_exist():
    assert CATEGORY_SUITES | {"minimax_gap"} <= {p.stem for p in SUITES}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_suite_composes_with_the_main_config(path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(path.parents[1]), version_base="1.3"):
        cfg = compose("config", overrides=[f"suite={path.stem}"])
    assert cfg.suite.name == path.stem
    assert set(cfg.suite) >= {"name", "seed", "include", "tasks"}  # what hybrid_eval/harness/run.py reads


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_suite_loads_and_generates(path):
    suite = Suite.from_config(OmegaConf.load(path))
    assert suite.name == path.stem
    categories = {t.category for t in suite.tasks}
    if path.stem in CATEGORY_SUITES:
        assert categories == {path.stem}
    if path.stem == "minimax_gap":
        assert categories == set(CATEGORIES)
    for task in suite.tasks:
        examples = task.generate(2, 0, "test")
        assert all(task.score(e, [e["messages"][t]["content"] for t in e["scored_turns"]]) == 1.0 for e in examples)


def test_mqar_base_is_16_pairs_in_256_tokens_with_a_blank_gap():
    from hybrid_eval.models.tokenizer import build_probe_tokenizer, chat_ids

    suite = Suite.from_config(OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "suite" / "mqar_base.yaml"))
    (task,) = suite.tasks
    tokenizer = build_probe_tokenizer(task.vocabulary())
    for example in task.generate(3, 0, "test"):
        assert len(chat_ids(tokenizer, example["messages"])) == 256
        gap = example["messages"][0]["content"].split(" noise : ")[1].split(" . ")[0].split()
        assert gap == ["blank"] * 147


def test_the_ladder_holds_every_minimax_gap_task_at_three_rungs_of_one_knob():
    """conf/suite/minimax_gap_ladder.yaml: each task of minimax_gap at >= 3 aliases whose knobs differ in exactly one
    key (the report's difficulty axis), rungs in increasing order."""
    from omegaconf import OmegaConf

    ladder = OmegaConf.load(Path(SUITES[0]).parent / "minimax_gap_ladder.yaml")
    gap = OmegaConf.load(Path(SUITES[0]).parent / "minimax_gap.yaml")
    rungs: dict[str, list[dict]] = {}
    for entry in ladder.tasks:
        rungs.setdefault(entry.name, []).append(OmegaConf.to_container(entry.knobs))
    assert set(rungs) == {t.name for t in gap.tasks}
    for name, knobs in rungs.items():
        assert len(knobs) >= 3, name
        differ = [k for k in knobs[0] if len({repr(kn[k]) for kn in knobs}) > 1]
        assert len(differ) == 1, (name, differ)
        values = [kn[differ[0]] for kn in knobs]
        assert values == sorted(values), (name, values)


def test_every_ladder_rung_has_room_for_the_study_s_examples():
    """The GPU study draws 700 train and 40 test examples per rung (reports/minimax-gap/README.md); a rung whose example
    space is smaller (parity over 4 bits has 16 strings) stopped the whole sweep before training on its first GPU run."""
    from omegaconf import OmegaConf

    from hybrid_eval.tasks import build, example_hash

    ladder = OmegaConf.load(Path(SUITES[0]).parent / "minimax_gap_ladder.yaml")
    for entry in ladder.tasks:
        task = build(entry.name, **OmegaConf.to_container(entry.knobs))
        test = frozenset(example_hash(e) for e in task.generate(40, 1234, "test"))
        assert len(task.generate(700, 1234, "train", exclude=test)) == 700, entry.alias
