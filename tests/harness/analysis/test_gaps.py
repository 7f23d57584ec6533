"""Gaps, their spread over seeds, difficulty curves and missing jobs, on constructed sweeps whose gaps are known
exactly (the MiniMax check alone: test_minimax.py)."""
import numpy as np
import pytest
from tests.harness.fake_sweep import paired, task, write_job, write_multirun_yaml

from hybrid_eval.harness.analysis import gaps, sweep_jobs

# ---------------------------------------------------------------- gaps.json from a sweep


def three_seed_sweep(tmp_path, dnt_seed=None):
    """F and L at seeds 0, 1, 2; L loses 10, 20, 30 points of mqar (n=100) and nothing on short."""
    b, _ = paired(100, 0.9, 0, seed=7)
    for seed, worse in enumerate([0.1, 0.2, 0.3]):
        _, v = paired(100, 0.9, worse, seed=7)
        short = np.ones(40)
        write_job(tmp_path, "F", seed, {"mqar": task("mqar", "long_context", b), "one_fact_qa": task("one_fact_qa", "short", short)})
        write_job(tmp_path, "L", seed, {"mqar": task("mqar", "long_context", v), "one_fact_qa": task("one_fact_qa", "short", short)},
                  did_not_train=seed == dnt_seed)
    return gaps.for_sweep(tmp_path)[0]


def test_gaps_are_per_seed_against_the_same_seed_baseline_then_aggregated(tmp_path):
    g = three_seed_sweep(tmp_path)
    assert set(g["variants"]) == {f"qwen3_next:L:tiny:seed{s}" for s in range(3)}
    for s, worse in enumerate([0.1, 0.2, 0.3]):
        v = g["variants"][f"qwen3_next:L:tiny:seed{s}"]
        assert v["baseline"] == f"qwen3_next:F:tiny:seed{s}"
        assert v["tasks"]["mqar"]["gap"] == pytest.approx(worse) and v["tasks"]["one_fact_qa"]["gap"] == 0
        assert v["categories"]["long_context"]["distinguishable"] and not v["categories"]["short"]["distinguishable"]
    spread = g["seeds"]["qwen3_next:L:tiny"]["gaps"]["tasks"]["mqar"]
    assert spread["mean"] == pytest.approx(0.2) and spread["std"] == pytest.approx(0.1)
    assert (spread["min"], spread["max"], spread["n"]) == (pytest.approx(0.1), pytest.approx(0.3), 3)
    assert spread["per_seed"] == {0: pytest.approx(0.1), 1: pytest.approx(0.2), 2: pytest.approx(0.3)}
    assert g["seeds"]["qwen3_next:L:tiny"]["gaps"]["categories"]["long_context"]["mean"] == pytest.approx(0.2)
    assert "gaps" not in g["seeds"]["qwen3_next:F:tiny"]  # the baseline has score spreads only
    assert g["seeds"]["qwen3_next:F:tiny"]["scores"]["tasks"]["mqar"]["std"] == 0


def test_a_variant_that_did_not_train_gets_no_gap(tmp_path):
    g = three_seed_sweep(tmp_path, dnt_seed=2)
    v = g["variants"]["qwen3_next:L:tiny:seed2"]
    assert v["did_not_train"] and "tasks" not in v and "categories" not in v
    assert g["scores"]["qwen3_next:L:tiny:seed2"]["did_not_train"] is True
    assert g["scores"]["qwen3_next:L:tiny:seed0"]["did_not_train"] is False  # a missing flag is false
    s = g["seeds"]["qwen3_next:L:tiny"]
    assert s["gap_seeds"] == [0, 1] and s["did_not_train_seeds"] == [2]
    assert s["gaps"]["tasks"]["mqar"]["mean"] == pytest.approx(0.15)


def test_a_baseline_that_did_not_train_gives_no_gap(tmp_path):
    b, v = paired(50, 0.9, 0.2)
    write_job(tmp_path, "F", 0, {"mqar": task("mqar", "long_context", b)}, did_not_train=True)
    write_job(tmp_path, "L", 0, {"mqar": task("mqar", "long_context", v)})
    g = gaps.for_sweep(tmp_path)[0]
    v = g["variants"]["qwen3_next:L:tiny"]
    assert v["baseline_did_not_train"] and "tasks" not in v


def test_accuracy_against_difficulty_per_variant(tmp_path):
    f = {f"fc{h}": task("fact_chain", "reasoning", np.ones(20) * (h <= 4), chance=0.05, hops=h, distractors=6) for h in (8, 2, 4)}
    lin = {f"fc{h}": task("fact_chain", "reasoning", np.ones(20) * (h <= 2), chance=0.05, hops=h, distractors=6) for h in (8, 2, 4)}
    write_job(tmp_path, "F", 0, f | {"one_fact_qa": task("one_fact_qa", "short", np.ones(5))})
    write_job(tmp_path, "L", 0, lin | {"one_fact_qa": task("one_fact_qa", "short", np.ones(5))})
    d = gaps.for_sweep(tmp_path)[0]["difficulty"]
    assert list(d) == ["fact_chain"]
    fc = d["fact_chain"]
    assert fc["knob"] == "hops" and fc["values"] == [2, 4, 8] and fc["aliases"] == ["fc2", "fc4", "fc8"]
    assert fc["scores"]["qwen3_next:F:tiny"]["mean"] == [1.0, 1.0, 0.0]
    assert fc["scores"]["qwen3_next:L:tiny"]["mean"] == [1.0, 0.0, 0.0]
    assert fc["chance"] == [0.05] * 3


def test_missing_and_incomplete_jobs_are_named(tmp_path):
    b, v = paired(30, 0.9, 0.1)
    write_job(tmp_path, "F", 0, {"mqar": task("mqar", "long_context", b)})
    write_job(tmp_path, "L", 0, {"mqar": task("mqar", "long_context", v)})
    write_job(tmp_path, "F", 1, {"mqar": task("mqar", "long_context", b)})
    broken = tmp_path / "model.pattern=L,seed=1"
    (broken / ".hydra").mkdir(parents=True)
    (broken / ".hydra" / "overrides.yaml").write_text("- model.pattern=L\n- seed=1\n")
    (tmp_path / "wandb").mkdir()  # not a job
    write_multirun_yaml(tmp_path, "F,L", "0,1")
    g = gaps.for_sweep(tmp_path)[0]
    assert g["missing"] == ["model.pattern=L seed=1"]
    assert g["incomplete"] == ["model.pattern=L,seed=1"]
    assert set(g["variants"]) == {"qwen3_next:L:tiny:seed0"}  # L seed 1 never finished: aggregated without it


def test_deepseek_sparse_is_compared_with_dense_when_no_F_job_exists(tmp_path):
    b, v = paired(200, 0.8, 0.25)
    write_job(tmp_path, "dense", 0, {"mqar": task("mqar", "long_context", b)}, family="deepseek_v32")
    write_job(tmp_path, "sparse", 0, {"mqar": task("mqar", "long_context", v)}, family="deepseek_v32")
    g = gaps.compute(sweep_jobs.load_jobs(tmp_path), baseline="F")
    (entry,) = g["variants"].values()
    assert entry["baseline_job"] == "model.pattern=dense,seed=0"
    assert entry["tasks"]["mqar"]["gap"] == pytest.approx(0.25)
