"""bench_train_step on CPU (`--cpu`: tiny probes, smoke suite): a row per pattern with the step's wall time and rates
from the training loop's own pieces; the device columns are left empty without a device timeline. On CUDA (`gpu`
marker) the profile fills them: kernels launched, their device time below the wall time, host waits counted."""
import json

import pytest
import torch

import bench_train_step as bench


def test_cpu_rows_time_the_loop_s_step(tmp_path):
    assert bench.main(["--cpu", "--patterns", "F", "L", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "train_step.json").read_text())
    assert result["command"] == f"python benchmarks/bench_train_step.py --cpu --patterns F L --out {tmp_path}"
    assert [r["pattern"] for r in result["rows"]] == ["F", "L"] and result["settings"]["size"] == "tiny"
    for row in result["rows"]:
        assert row["step_ms"] > 0 and row["tokens_per_s"] > 0 and row["micro_batches"] == 1
        assert row["steps_per_s"] == pytest.approx(1000 / row["step_ms"], rel=0.8)  # mean vs median of 2 steps
        assert row["kernels_per_step"] is None and row["busy"] is None
    assert "| pattern | micro-batches | step ms |" in (tmp_path / "table.md").read_text()


def test_bad_counts_are_one_line(capsys):
    assert bench.main(["--cpu", "--steps", "0"]) == 2
    assert capsys.readouterr().err.strip().startswith("bench_train_step: error: --steps")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_profile_counts_kernels_and_device_time(tmp_path):
    assert bench.main(["--patterns", "F", "--size", "small", "--warmup", "2", "--steps", "3", "--profile", "2",
                       "--out", str(tmp_path)]) == 0
    [row] = json.loads((tmp_path / "train_step.json").read_text())["rows"]
    assert "profile_error" not in row and row["kernels_per_step"] > 50
    assert 0 < row["device_ms_per_step"] and 0 < row["busy"] < 1.5 and row["syncs_per_step"] >= 1
