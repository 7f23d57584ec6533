"""The fault suite (`pytest -m faults`; README "Resuming and integrity", reports/reliability.md): the command line as a
user runs it, in subprocesses. Every bad input is one line on stderr, exit code 2, no traceback, nothing written;
a second sweep into a locked directory stops naming the holder; a `kill -9` in training or evaluation resumes to
results identical to an uninterrupted run's; corrupted files are redone (tests/harness/test_integrity.py covers each
file kind in process)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, background, hybrid_eval, selected
from tests.harness.test_config_check import BAD

pytestmark = [pytest.mark.faults, pytest.mark.slow]
TINY = ["~experiment", "logger=none", "threads=1", "device=cpu", "model.size=tiny", "model.pattern=F",
        "suite.tasks=[{name: one_fact_qa, knobs: {n_facts: 1, n_colors: 4}}]", "train.batch_size=8",
        "train.n_examples=100", "train.n_validation=5", "eval.n_test=12", "eval.max_new_tokens=2"]
BROKEN_PLUGIN = "import dataclasses\n\ndef oops(:\n"


def one_line_error(out) -> str:
    """The run's error: exit code 2, one line on stderr starting with the tool's name, no traceback."""
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 2 and "Traceback" not in out.stderr + out.stdout, out.stderr[-2000:]
    errors = [ln for ln in lines if ln.startswith("hybrid-eval")]
    assert len(errors) == 1, out.stderr[-2000:]
    return errors[0]


def bad_inputs(d: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, what the one line must contain) for every bad input of the fault campaign, run in `d`, which
    holds a file where a directory must go (a-file) and a plugin with a syntax error (broken_plugin.py)."""
    blocked, plugin = d / "a-file", d / "broken_plugin.py"
    sweep = ["model.size=tiny", f"hydra.sweep.dir={d}/sweep-bad"]
    return {
        **{o: (["~experiment", o, f"hydra.run.dir={d}/run"], says) for o, says, _ in BAD},
        "hydra.sweep.dir unwritable": ([f"hydra.sweep.dir={blocked}/sweep"], "hydra.sweep.dir="),
        "hydra.run.dir unwritable": (["~experiment", f"hydra.run.dir={blocked}/run"], "hydra.run.dir="),
        "plugin syntax error (sweep)": ([*sweep, f"suite.include=[{plugin}]"], f"{plugin}:3: SyntaxError"),
        "gaps.baseline=X (sweep)": ([*sweep, "gaps.baseline=X"], "gaps.baseline='X' is not a pattern of this sweep"),
    }


BAD_INPUTS = list(bad_inputs(Path()))  # their names: one test each


@pytest.fixture(scope="module", autouse=True)
def bad_input_runs(request, tmp_path_factory):
    """Every selected bad input's run, each in its own directory, started as this module starts: two at a time in the
    background while the tests above run their one process at a time, so that both cores work (each run spends ~6 s
    of CPU importing torch and transformers). The bad-input test, last in the module, waits for its own run."""
    def run(name, d):
        (d / "a-file").write_text("")
        (d / "broken_plugin.py").write_text(BROKEN_PLUGIN)
        return d, hybrid_eval(*bad_inputs(d)[name][0], cwd=d)

    cases = [case["name"] for case in selected(request, test_each_bad_input_is_one_line_exit_2_before_any_work)]
    dirs = {name: tmp_path_factory.mktemp("bad-input") for name in cases}
    with background(2) as pool:
        yield {name: pool.submit(run, name, dirs[name]) for name in cases}


def test_report_refuses_a_baseline_not_in_the_sweep(tmp_path):
    from tests.harness.fake_sweep import task, write_job

    write_job(tmp_path, "F", 0, {"one_fact_qa": task("one_fact_qa", "short", [1.0, 0.0, 1.0, 1.0])})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "hybrid_eval.harness.report", str(tmp_path), "--baseline", "X"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and out.stderr.strip() == (
        f"hybrid-eval-report: error: baseline 'X' is not a pattern of the jobs in {tmp_path}; accepted: one of F")
    assert not (tmp_path / "report.md").exists()


def test_a_second_sweep_into_a_locked_directory_stops_naming_the_holder(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["model.size=tiny", "train.max_steps=400", "train.log_every=1", "logger=none", "threads=1",
            f"hydra.sweep.dir={sweep}"]
    first = hybrid_eval(*args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for line in first.stdout:  # the first sweep is training: it holds the lock
            if "step" in line and "loss" in line:
                break
        first.send_signal(signal.SIGSTOP)  # and goes on holding it, paused, leaving the cores to the others
        second = hybrid_eval(*args, cwd=tmp_path)
        line = one_line_error(second)
        assert f"is in use by pid {first.pid} on " in line and "accepted: wait for it to finish" in line
    finally:
        first.kill()
        first.wait()
    # kill -9 leaves a stale lock: the next sweep takes it over (and would resume); here the lock alone is checked
    holder = json.loads((sweep / ".hybrid-eval.lock").read_text())
    assert holder["pid"] == first.pid


def test_a_numbered_job_directory_of_another_sweep_is_refused(tmp_path):
    """`hydra.sweep.subdir=${hydra.job.num}` (docs/sweeps.md): job 0 of a sweep over L finds job 0 of a sweep over F.
    The old code reused F's checkpoint and labelled the results L."""
    args = [a for a in TINY[1:] if not a.startswith("model.pattern=")] + [
        "train.max_steps=5", "hydra.sweep.subdir=${hydra.job.num}", f"hydra.sweep.dir={tmp_path}/sweep"]
    first = hybrid_eval(*args, "model.pattern=F", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    (tmp_path / "sweep" / "0" / "results.json").unlink()  # a kill during evaluation
    second = hybrid_eval(*args, "model.pattern=L", cwd=tmp_path)
    line = one_line_error(second)
    assert "checkpoint was trained with other settings" in line and "model.pattern: 'F' -> 'L'" in line
    assert not (tmp_path / "sweep" / "0" / "results.json").exists()


def _results(run_dir):
    res = json.loads((run_dir / "results.json").read_text())
    return res["tasks"], res["train"]["loss_curve"], (run_dir / "samples.jsonl").read_text()


KILL_ARGS = [*TINY, "train.max_steps=60", "train.log_every=10", "train.warmup_steps=5"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An uninterrupted run: the reference every resumed run must equal."""
    root = tmp_path_factory.mktemp("kills")
    out = hybrid_eval(*KILL_ARGS, f"hydra.run.dir={root}/clean", cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    return _results(root / "clean")


@pytest.mark.parametrize("phase, marker", [("start-up", None), ("data generation", "generating"),
                                           ("training", "step 30:"), ("evaluation", "evaluating")])
def test_kill_9_resumes_to_identical_results(tmp_path, clean, phase, marker):
    env_cache = {"HYBRID_EVAL_CACHE": str(tmp_path / "cache")}  # a fresh data cache: generation really runs
    killed = hybrid_eval(*KILL_ARGS, f"hydra.run.dir={tmp_path}/killed", cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT), **env_cache})
    if marker is None:  # importing torch and transformers, composing the config
        time.sleep(2)
        killed.send_signal(signal.SIGKILL)
    for line in killed.stdout:
        if marker is not None and marker in line:
            killed.send_signal(signal.SIGKILL)
            break
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, f"the run ended before {phase}"
    assert not (tmp_path / "killed" / "results.json").exists()
    again = hybrid_eval(*KILL_ARGS, f"hydra.run.dir={tmp_path}/killed", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _results(tmp_path / "killed") == clean


# last in the module: its runs started with the module (bad_input_runs), and are done or nearly by now
@pytest.mark.parametrize("name", BAD_INPUTS)
def test_each_bad_input_is_one_line_exit_2_before_any_work(bad_input_runs, name):
    d, out = bad_input_runs[name].result()
    assert bad_inputs(d)[name][1] in one_line_error(out), name
    assert not any(d.glob("**/results.json")) and not any(d.glob("**/checkpoint"))
    assert not (d / "sweep-bad").exists()  # a sweep stops before job 0
