"""bench_decode end to end on CPU (`--cpu --quick`: tiny probes, a few tokens): a smoke test of the benchmark's
plumbing. It checks that bench.json has every expected row with positive timings, not what the timings are (CPU
numbers of tiny models mean nothing); two numbers are real checks: re-prefilling runs more tokens than cache reuse,
and the evaluator's mean score equals lm-eval's on the same exported examples (our static-cache decoding included).
"""
from __future__ import annotations

import json

import pytest

import bench_decode as bench

FAMILY_ROWS = [(f, p) for f, ps in bench.variants().items() for p in ps]
HYBRIDS = [(f, ps[1]) for f, ps in bench.variants().items()]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("lm_eval")
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--cpu", "--quick", "--out", str(out)]) == 0
    return json.loads((out / "bench.json").read_text()), (out / "table.md").read_text()


def test_bench_smoke_cpu_quick_decode_rows(result):
    r, table = result
    q = bench.QUICK
    assert r["hardware"]["device"] == "cpu" and r["command"].startswith("python benchmarks/bench_decode.py --cpu --quick")
    keys = [(row["family"], row["pattern"], row["size"], row["context"], row["batch"]) for row in r["decode"]]
    assert keys == [(f, p, "tiny", c, b) for f, p in FAMILY_ROWS for c in q["contexts"] for b in q["batches"]]
    for row in r["decode"]:
        for impl in ("ours", "transformers"):
            assert row[impl]["ms_per_token"] > 0 and row[impl]["tokens_per_s"] > 0, (row, impl)
            assert row[impl]["generated"] == q["tokens"]
        assert row["ours"]["path"] == "static"  # CPU: the engine without graphs (not the plain loop)
    assert "(a) decode" in table and "(b) multi-turn" in table and "(c) evaluator" in table


def test_bench_smoke_cpu_quick_multi_turn_rows(result):
    r, _ = result
    turns = bench.QUICK["turns"]
    assert [(row["family"], row["pattern"]) for row in r["multi_turn"]] == HYBRIDS
    for row in r["multi_turn"]:
        assert len(row["reuse_s"]) == len(row["reprefill_s"]) == turns and min(row["reuse_s"] + row["reprefill_s"]) > 0
        assert row["history_tokens"] == sorted(row["history_tokens"]) and row["reprefills"] == 0
        assert row["tokens_run_reuse"] < row["tokens_run_reprefill"]
        assert set(row["speedup_at"]) == {"4"} and row["speedup_at"]["4"] > 0


def test_bench_smoke_cpu_quick_evaluator_rows(result):
    r, _ = result
    assert [(row["family"], row["pattern"]) for row in r["evaluator"]] == HYBRIDS
    for row in r["evaluator"]:
        assert row["examples"] == bench.QUICK["n_eval"]
        assert row["ours_examples_per_s"] > 0 and row["lm_eval_examples_per_s"] > 0
        assert row["scores_equal"], row


def test_bench_needs_cuda_or_cpu_flag(capsys, monkeypatch):
    monkeypatch.setattr(bench.torch.cuda, "is_available", lambda: False)
    assert bench.main(["--quick"]) == 2
    assert "run with --cpu --quick" in capsys.readouterr().err
