"""bench_packing on CPU (`--cpu`: tiny probes, smoke suite): one round per job count, each job its own process with
the pack launcher's slot plan, started together; the table's "together" is the sum of the jobs' rates and "x one
alone" divides it by the one-job round of the same run. On CUDA (`gpu` marker) the rounds also report each job's
peak memory, and a round under MPS runs with the launcher's daemon."""
import json

import pytest
import torch

import bench_packing as bench


def test_cpu_rounds_sum_the_jobs_and_divide_by_one_alone(tmp_path):
    assert bench.main(["--cpu", "--counts", "1", "2", "--patterns", "F", "L", "--seconds", "2",
                       "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "packing.json").read_text())
    assert result["command"] == (f"python benchmarks/bench_packing.py --cpu --counts 1 2 --patterns F L --seconds 2 "
                                 f"--out {tmp_path}")
    one, two = result["rows"]
    assert (one["jobs"], one["patterns"], two["jobs"], two["patterns"]) == (1, ["F"], 2, ["F", "L"])
    for row in (one, two):
        assert "error" not in row and not row["mps"] and all(r > 0 for r in row["tokens_per_s"])
        assert row["together_tokens_per_s"] == pytest.approx(sum(row["tokens_per_s"]), abs=0.2)
        assert row["peak_gb"] == [None] * row["jobs"]  # no GPU memory on CPU
    assert one["x_alone"] == 1.0
    assert two["x_alone"] == pytest.approx(two["together_tokens_per_s"] / one["together_tokens_per_s"], abs=0.01)
    assert len(list((tmp_path / "logs").glob("*.log"))) == 3
    assert "| off | 2 | F L |" in (tmp_path / "table.md").read_text()


def test_a_job_that_fails_is_named_in_its_row(tmp_path):
    """A pattern the family cannot build fails in its worker: the round says which job and why, exit 1."""
    assert bench.main(["--cpu", "--counts", "1", "--patterns", "FX", "--seconds", "1", "--out", str(tmp_path)]) == 1
    [row] = json.loads((tmp_path / "packing.json").read_text())["rows"]
    assert row["error"].startswith("job 0 (FX) exited before it was ready: ") and row["x_alone"] is None
    assert "failed: job 0 (FX)" in (tmp_path / "table.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--cpu", "--counts", "0"], "--counts, --batch-size and --examples must be >= 1"),
    (["--cpu", "--seconds", "0"], "--seconds > 0"),
    (["--cpu", "--mps", "on"], "--mps on needs a GPU; accepted with --cpu: --mps off"),
])
def test_bad_settings_are_one_line(argv, message, capsys):
    assert bench.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench_packing: error: ") and message in err and "\n" not in err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_rounds_with_and_without_mps(tmp_path):
    assert bench.main(["--counts", "1", "2", "--size", "small", "--warmup", "3", "--seconds", "5",
                       "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "packing.json").read_text())["rows"]
    assert [(r["jobs"], r["mps"]) for r in rows] == [(1, False), (2, False), (1, True), (2, True)]
    for row in rows:
        assert "error" not in row and all(p > 0 for p in row["peak_gb"]) and row["x_alone"] > 0
