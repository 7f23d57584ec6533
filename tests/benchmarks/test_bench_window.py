"""bench_window on CPU (`--cpu`: T = 256, 512, window 64): every row is there with a positive time, and the two SWA
implementations give the dense-mask reference's output (flex attention to float32 rounding, SDPA with the mask
exactly): the numbers a GPU run reports are of correct kernels. CPU timings themselves mean nothing. On CUDA (`gpu`
marker), flex attention must also beat the dense-mask SDPA at 16k tokens."""
import json

import pytest
import torch

import bench_window as bench


def test_bench_window_cpu_rows_and_swa_outputs_equal_the_reference(tmp_path):
    assert bench.main(["--cpu", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "window.json").read_text())
    assert result["command"] == f"python benchmarks/bench_window.py --cpu --out {tmp_path}"
    assert [r["T"] for r in result["rows"]] == list(bench.CPU["contexts"]) and result["sizes"]["window"] == 64
    for row in result["rows"]:
        assert row["full sdpa"]["ms"] > 0 and row["swa flex"]["ms"] > 0 and row["swa sdpa mask"]["ms"] > 0
        assert row["swa flex"]["max_abs_err"] < 1e-5
        assert row["swa sdpa mask"]["max_abs_err"] == 0.0
        assert row["swa flash-attn"] == {"skipped": "flash-attn not installed"}  # a GPU-only kernel
    table = (tmp_path / "table.md").read_text()
    assert "| T | full sdpa ms | swa flex ms |" in table and "| 512 |" in table


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bench_window_gpu_flex_skips_the_blocks_outside_the_window(tmp_path):
    # 16k tokens, window 2048: flex attention computes about 1/4 of the causal blocks, SDPA with the dense mask all
    assert bench.main(["--contexts", "4096", "16384", "--repeats", "3", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "window.json").read_text())["rows"]
    for row in rows:
        assert row["swa flex"]["max_abs_err"] < 5e-2 and row["swa sdpa mask"]["max_abs_err"] == 0.0  # bf16
    assert rows[-1]["swa flex"]["ms"] < rows[-1]["swa sdpa mask"]["ms"]
