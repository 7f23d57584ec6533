"""The jobs a sweep should hold (hybrid_eval/harness/analysis/sweep_jobs.py): the expansion of multirun.yaml's
overrides against Hydra's own basic sweeper (the private class is the reference here; the product code uses only
Hydra's public override parser), and which jobs are missing."""
import pytest
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from tests.harness.fake_sweep import paired, task, write_job, write_multirun_yaml

from hybrid_eval.harness.analysis import sweep_jobs


def hydra_expansion(overrides: list[str]) -> list[list[str]]:
    """What Hydra's basic sweeper launches for `overrides` (one batch), job by job."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [list(job) for job in BasicSweeper.split_arguments(parsed, None)[0]]


@pytest.mark.parametrize("overrides", [
    [],
    ["model.pattern=F,L", "seed=0,1"],
    ["model.pattern=F,LLLF,L", "seed=range(0,3)", "train.lr=choice(1e-3,3e-3)", "model.size=tiny"],
    ["seed=0,1", "model.pattern=F", "seed=2,3,4"],  # a key given again: its new choices, at its first place
    ["~experiment", "+suite.knob=1,2", "++train.max_steps=5", "logger=none"],
    ["suite.tasks=[{name: mqar, knobs: {n_pairs: 4}}]", "train.lr_grid=[1e-3,3e-3]", "model.pattern=F,L"],
    ["x=sort(3,1,2)", "z='a,b',c", 'w="q r"', "model@m=qwen3_next,kimi_linear", "hydra/launcher=basic"],
])
def test_expansion_matches_hydras_basic_sweeper(overrides):
    assert sweep_jobs.expand(overrides) == hydra_expansion(overrides)


def test_the_expansion_of_a_two_by_two_sweep_in_launch_order():
    assert sweep_jobs.expand(["model.pattern=F,L", "seed=0,1", "device=cpu"]) == [
        ["model.pattern=F", "seed=0", "device=cpu"], ["model.pattern=F", "seed=1", "device=cpu"],
        ["model.pattern=L", "seed=0", "device=cpu"], ["model.pattern=L", "seed=1", "device=cpu"]]
    assert len(sweep_jobs.expand(["a=range(4)", "b=1,2,3", "c=x"])) == 12


def test_an_interval_sweep_cannot_be_expanded_and_the_sweep_has_no_expected_jobs(tmp_path):
    with pytest.raises(ValueError, match=r"x=interval\(0,1\): the basic sweeper expands choice and range sweeps"):
        sweep_jobs.expand(["x=interval(0,1)"])
    write_multirun_yaml(tmp_path, "F,L", "interval(0,1)")
    assert sweep_jobs.expected_jobs(tmp_path) is None


def test_expected_jobs_read_sweeper_params_then_command_line_overrides(tmp_path):
    assert sweep_jobs.expected_jobs(tmp_path) is None  # no multirun.yaml
    write_multirun_yaml(tmp_path, "F,L", "0,1")  # params: model.pattern=F,L; command line: seed=0,1
    expected = [["model.pattern=F", "seed=0"], ["model.pattern=F", "seed=1"],
                ["model.pattern=L", "seed=0"], ["model.pattern=L", "seed=1"]]
    assert sweep_jobs.expected_jobs(tmp_path) == expected == hydra_expansion(["model.pattern=F,L", "seed=0,1"])
    path = tmp_path / "multirun.yaml"
    path.write_text(path.read_text().replace("basic_sweeper.BasicSweeper", "optuna_sweeper.OptunaSweeper"))
    assert sweep_jobs.expected_jobs(tmp_path) is None  # another sweeper: unknown, not guessed


def test_missing_jobs_are_named_by_their_swept_overrides(tmp_path):
    b, v = paired(30, 0.9, 0.1)
    write_job(tmp_path, "F", 0, {"mqar": task("mqar", "long_context", b)})
    write_job(tmp_path, "L", 1, {"mqar": task("mqar", "long_context", v)})
    expected = sweep_jobs.expand(["model.pattern=F,L", "seed=0,1", "device=cpu"])
    jobs = sweep_jobs.load_jobs(tmp_path)
    assert [j["dir"] for j in jobs] == ["model.pattern=F,seed=0", "model.pattern=L,seed=1"]
    # the fake jobs' overrides.yaml lacks device=cpu, so no expected job matches them exactly
    assert sweep_jobs.missing_jobs(expected, jobs) == ["model.pattern=F seed=0", "model.pattern=F seed=1",
                                                       "model.pattern=L seed=0", "model.pattern=L seed=1"]
    expected = sweep_jobs.expand(["model.pattern=F,L", "seed=0,1"])
    assert sweep_jobs.missing_jobs(expected, jobs) == ["model.pattern=F seed=1", "model.pattern=L seed=0"]
    assert sweep_jobs.missing_jobs(None, jobs) == []


def test_jobs_come_in_the_sweeps_own_order(tmp_path):
    """model.pattern=F,LLLF,L: the report's columns follow the sweep (Hydra's job numbers), not the alphabet."""
    for num, pattern in enumerate(("F", "LLLF", "L")):
        d = write_job(tmp_path, pattern, 0, {"t": task("t", "short", [1.0, 0.0])})
        (d / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {num}\n")
    assert [j["model"]["pattern"] for j in sweep_jobs.load_jobs(tmp_path)] == ["F", "LLLF", "L"]
    (tmp_path / "model.pattern=F,seed=0" / ".hydra" / "hydra.yaml").unlink()  # unknown numbers go last, by name
    assert [j["model"]["pattern"] for j in sweep_jobs.load_jobs(tmp_path)] == ["LLLF", "L", "F"]
