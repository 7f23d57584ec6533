"""hydra/launcher=pack: jobs at once in their own processes, with their slots; a job that dies is named with why."""
import json
import multiprocessing
import os
import signal

import pytest

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.launch.pack import PackLauncher, Slot, describe_failure, plan_slots
from tests.conftest import background, compose_config, hybrid_eval, selected
from tests.test_e2e import FAST


@pytest.fixture(scope="module", autouse=True)
def cli_runs(request, tmp_path_factory):
    """The command-line runs of the selected tests, each in its own directory, started as this module starts: two at a
    time in the background (the packed sweeps first, the longest) while the in-process tests run. Every process spends
    ~6 s of CPU importing torch and transformers. Each command-line test waits for its own runs."""
    runs = {}
    if selected(request, test_a_packed_sweep_runs_jobs_at_once_and_names_the_one_that_failed):
        runs["packed"] = packed_sweep_with_a_bad_job, tmp_path_factory.mktemp("packed")
    if selected(request, test_a_packed_sweep_under_mps_starts_the_daemon_first_and_quits_it_last):
        runs["mps"] = packed_sweep_under_mps, tmp_path_factory.mktemp("mps")
        runs["no mps program"] = packed_sweep_without_mps_program, tmp_path_factory.mktemp("no-mps")
    for case in selected(request, test_bad_settings_on_the_command_line_are_one_line_before_any_job):
        override = case["override"]
        runs[override] = packed_sweep_with_a_bad_setting, tmp_path_factory.mktemp("bad-setting"), override
    with background(2) as pool:
        yield {key: pool.submit(*run) for key, run in runs.items()}


def test_slots_spread_jobs_over_gpus_and_split_the_cores():
    assert plan_slots(4, [0, 1], None, cores=16) == [Slot("0", 4, 0.45), Slot("1", 4, 0.45)] * 2
    assert plan_slots(3, [], 2, cores=16) == [Slot(None, 2)] * 3
    assert plan_slots(8, [], None, cores=2) == [Slot(None, 1)] * 8  # at least one thread each


def test_jobs_sharing_a_gpu_split_its_memory():
    # 3 slots on 2 GPUs: GPU 0 holds two jobs (0.45 each), GPU 1 one job (no limit under auto)
    assert [s.memory for s in plan_slots(3, [0, 1], None, cores=8)] == [0.45, None, 0.45]
    assert [s.memory for s in plan_slots(8, [0], None, cores=16)] == [pytest.approx(0.1125)] * 8
    assert [s.memory for s in plan_slots(2, [0], None, cores=8, gpu_memory=0.3)] == [0.3, 0.3]
    assert [s.memory for s in plan_slots(2, [0], None, cores=8, gpu_memory=None)] == [None, None]


def test_a_job_applies_its_share_only_on_cuda(monkeypatch):
    import torch
    from torch.cuda._utils import _get_device_index

    from hybrid_eval.harness.launch import gpu_share

    monkeypatch.setenv(gpu_share.ENV, "0.25")
    assert gpu_share.apply(torch.device("cpu")) is None
    calls = []
    # torch's own check of the device argument: a bare "cuda" (what a job's device=auto resolves to) is refused by
    # it with "Expected a torch.device with a specified index", which failed every packed job on the first GPU run
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction",
                        lambda f, d: calls.append((f, _get_device_index(d))))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert gpu_share.apply(torch.device("cuda", 0)) == 0.25 and calls == [(0.25, 0)]
    assert gpu_share.apply(torch.device("cuda")) == 0.25 and calls[-1] == (0.25, 1)
    monkeypatch.delenv(gpu_share.ENV)
    assert gpu_share.apply(torch.device("cuda", 0)) is None and len(calls) == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"slots": 0}, "hydra.launcher.slots=0; accepted: an integer >= 1"),
    ({"gpus": "0,1"}, "hydra.launcher.gpus='0,1'; accepted: null (every visible GPU) or a list"),
    ({"threads": -1}, "hydra.launcher.threads=-1; accepted: null (cores / slots) or an integer >= 1"),
    ({"gpu_memory": 1.5}, "hydra.launcher.gpu_memory=1.5; accepted: auto (0.9 of the card split among its jobs)"),
    ({"gpu_memory": "half"}, "hydra.launcher.gpu_memory='half'; accepted: auto"),
])
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PackLauncher(**kwargs)


@pytest.mark.parametrize("override,says", [
    ("hydra.launcher.slots=0", "hydra.launcher.slots=0; accepted: an integer >= 1"),
    ("hydra.launcher.gpu_memory=2", "hydra.launcher.gpu_memory=2; accepted: auto"),
    ("hydra.launcher.mps=maybe", "hydra.launcher.mps='maybe'; accepted: true or false"),
])
def test_bad_settings_on_the_command_line_are_one_line_before_any_job(cli_runs, override, says):
    d, out = cli_runs[override].result()
    errors = [line for line in out.stderr.splitlines() if line.startswith("hybrid-eval: error:")]
    assert out.returncode == 2 and len(errors) == 1 and errors[0].startswith(f"hybrid-eval: error: {says}")
    assert "Traceback" not in out.stderr and not (d / "sweep").exists()  # before any job or directory


def packed_sweep_with_a_bad_setting(d, override):
    return d, hybrid_eval("-m", "hydra/launcher=pack", override, "logger=none", *FAST, f"hydra.sweep.dir={d / 'sweep'}",
                          cwd=d)


def test_a_killed_process_is_named_as_likely_out_of_memory():
    # the process kills itself with a builtin, so that the spawned interpreter need not import this module (and torch)
    process = multiprocessing.get_context("spawn").Process(target=signal.raise_signal, args=(signal.SIGKILL,))
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    assert describe_failure(None, process.exitcode).startswith(
        "killed by SIGKILL: most likely the kernel's out-of-memory killer (host memory")


def test_errors_are_named_by_kind():
    class OutOfMemoryError(RuntimeError):  # torch.OutOfMemoryError's name, without needing a GPU
        pass

    assert describe_failure(OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), None) == (
        "GPU out of memory: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert describe_failure(ValueError("bad\nmore"), None) == "ValueError: bad"
    assert describe_failure(None, 3) == "the job's process exited with code 3 before reporting"


def test_the_preset_composes():
    launcher = compose_config(["hydra/launcher=pack", "hydra.launcher.slots=3"]).hydra.launcher
    assert launcher._target_ == "hydra_plugins.hybrid_eval_launcher.PackLauncher" and launcher.slots == 3


def packed_sweep_with_a_bad_job(d):
    sweep = d / "sweep"
    return sweep, hybrid_eval("hydra/launcher=pack", "hydra.launcher.slots=2", "logger=none", *FAST, "model.pattern=F",
                              f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=${hydra.job.num}",
                              "train.max_seconds=-1,600", cwd=d)


@pytest.mark.slow
def test_a_packed_sweep_runs_jobs_at_once_and_names_the_one_that_failed(cli_runs):
    """Two jobs at once: one trains and is reported, the other stops on a bad knob; its reason is in failure.txt and
    in the report, and the sweep exits non-zero (resuming finished jobs: tests/test_faults.py)."""
    sweep, out = cli_runs["packed"].result()
    assert out.returncode != 0
    assert "Packing 2 jobs, 2 at once (CPU; 1 threads each)" in out.stderr + out.stdout
    reason = (sweep / "0" / "failure.txt").read_text().strip()
    assert reason.startswith("exit code 2: ") and "train.max_seconds=-1; accepted: null (no limit)" in reason
    assert json.loads((sweep / "1" / "results.json").read_text())["complete"] is True
    assert not (sweep / "1" / "failure.txt").exists()
    report = (sweep / "report.md").read_text()
    assert "directory `0` (started, no complete results.json: exit code 2: " in report


FAKE_MPS = """#!/bin/sh
# a stand-in for nvidia-cuda-mps-control: records each call (arguments, pipe directory, stdin) and answers like it
{ echo "args=$*"; echo "pipe=$CUDA_MPS_PIPE_DIRECTORY"; [ "$1" = "-d" ] || echo "stdin=$(cat)"; } >> "$MPS_RECORD"
[ -n "$MPS_FAIL" ] && { echo "$MPS_FAIL" >&2; exit 1; }
exit 0
"""


def fake_mps_env(d, fail: str = "") -> tuple:
    """The stand-in in d/bin: (its record of calls, the environment variables that put it first on PATH)."""
    bin_dir = d / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "nvidia-cuda-mps-control"
    exe.write_text(FAKE_MPS)
    exe.chmod(0o755)
    record = d / "mps-calls.txt"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "MPS_RECORD": str(record)}
    return record, {**env, "MPS_FAIL": fail} if fail else env


def fake_mps(tmp_path, monkeypatch, fail: str = ""):
    record, env = fake_mps_env(tmp_path, fail)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return record


def test_mps_starts_a_daemon_with_its_own_pipes_and_quits_it(tmp_path, monkeypatch):
    from hybrid_eval.harness.launch import mps

    record = fake_mps(tmp_path, monkeypatch)
    daemon = mps.start()
    pipe = daemon.env["CUDA_MPS_PIPE_DIRECTORY"]
    assert os.path.isdir(pipe) and os.path.isdir(daemon.env["CUDA_MPS_LOG_DIRECTORY"]) and len(pipe) < 100
    daemon.stop()
    assert record.read_text().splitlines() == [f"args=-d", f"pipe={pipe}", "args=", f"pipe={pipe}", "stdin=quit"]
    assert not os.path.exists(pipe)  # its directory is removed


@pytest.mark.parametrize("fail", [None, "An instance of this daemon is already running"])
def test_mps_that_cannot_start_is_one_line(tmp_path, monkeypatch, fail):
    from hybrid_eval.harness.launch import mps

    if fail is None:
        monkeypatch.setenv("PATH", str(tmp_path))  # no control program
        says = "hydra.launcher.mps=true needs nvidia-cuda-mps-control on PATH"
    else:
        fake_mps(tmp_path, monkeypatch, fail=fail)
        says = f"nvidia-cuda-mps-control -d failed: {fail}; accepted: mps=false"
    with pytest.raises(ConfigError, match=says) as e:
        mps.start()
    assert "\n" not in str(e.value)


def test_a_job_s_environment_names_its_gpu_share_cache_and_the_mps_pipes():
    launcher = PackLauncher(slots=2, gpus=[0], triton_cache="/tmp/tc", mps=True)
    env = launcher.job_env(Slot("0", 4, 0.45), {"CUDA_MPS_PIPE_DIRECTORY": "/tmp/p"})
    assert env == {"CUDA_VISIBLE_DEVICES": "0", "HYBRID_EVAL_GPU_MEMORY_FRACTION": "0.4500",
                   "TRITON_CACHE_DIR": "/tmp/tc", "CUDA_MPS_PIPE_DIRECTORY": "/tmp/p"}
    assert launcher.job_env(Slot(None, 1), {}) == {"TRITON_CACHE_DIR": "/tmp/tc"}
    with pytest.raises(ConfigError, match="hydra.launcher.mps='yes'; accepted: true or false"):
        PackLauncher(mps="yes")


MPS_SWEEP = ["hydra/launcher=pack", "hydra.launcher.slots=1", "hydra.launcher.mps=true", "hydra.launcher.gpus=[0]",
             "device=cpu", "logger=none", *FAST, "model.pattern=F", "hydra.sweep.subdir=${hydra.job.num}"]


def packed_sweep_under_mps(d):
    record, env = fake_mps_env(d)
    sweep = d / "sweep"
    return record, sweep, hybrid_eval(*MPS_SWEEP, f"hydra.sweep.dir={sweep}", cwd=d, env={**os.environ, **env})


def packed_sweep_without_mps_program(d):
    env = {**os.environ, "PATH": str(d / "nothing")}
    return hybrid_eval(*MPS_SWEEP, f"hydra.sweep.dir={d / 'other'}", cwd=d, env=env)


@pytest.mark.slow
def test_a_packed_sweep_under_mps_starts_the_daemon_first_and_quits_it_last(cli_runs):
    """Through the command line, with a stand-in control program: the daemon starts before the job, the job gets its
    pipe directory, the daemon is told to quit when the batch ends; without the program the sweep stops in one line."""
    record, sweep, out = cli_runs["mps"].result()
    assert out.returncode == 0, out.stderr[-2000:]
    calls = record.read_text().splitlines()
    assert calls[0] == "args=-d" and calls[-1] == "stdin=quit" and len(calls) == 5
    assert json.loads((sweep / "0" / "results.json").read_text())["complete"] is True
    out = cli_runs["no mps program"].result()
    assert out.returncode == 2 and "hydra.launcher.mps=true needs nvidia-cuda-mps-control on PATH" in out.stderr
    assert "Traceback" not in out.stderr
