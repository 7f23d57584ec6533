"""bench_window on CPU (`--cpu`: T = 256, 512, window 64): every row is there with a positive time, and the two SWA
implementations give the dense-mask reference's output (flex attention to float32 rounding, SDPA with the mask
exactly): the numbers a GPU run reports are of correct kernels. CPU timings themselves mean nothing."""
import json

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
