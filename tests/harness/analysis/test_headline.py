"""The study's headline (hybrid_eval/harness/analysis/headline.py, report/headline.py): gaps pooled over seeds with a
two-level bootstrap, categories judged only on tasks the baseline learned in every seed, on constructed sweeps whose
gaps are known exactly."""
import json

import numpy as np
import pytest
from tests.harness.fake_sweep import paired, task, write_job

from hybrid_eval.harness.analysis import gaps, headline, stats
from hybrid_eval.harness.report import headline as headline_report

N = 400


def test_one_seed_is_the_per_example_interval():
    b, v = paired(N, 0.8, 0.1, seed=1)
    gap, lo, hi = headline.pooled_gap([[(b, v)]])
    ref = stats.paired_gap([b], [v])
    assert gap == pytest.approx(0.1) and gap == pytest.approx(ref[0])
    assert lo == pytest.approx(ref[1], abs=0.01) and hi == pytest.approx(ref[2], abs=0.01)


def test_seeds_that_disagree_widen_the_interval():
    agree = [[paired(N, 0.8, 0.15, seed=s)] for s in (1, 2)]
    disagree = [[paired(N, 0.8, 0.05, seed=1)], [paired(N, 0.8, 0.25, seed=2)]]
    g1, lo1, hi1 = headline.pooled_gap(agree)
    g2, lo2, hi2 = headline.pooled_gap(disagree)
    assert g1 == pytest.approx(0.15) and g2 == pytest.approx(0.15)  # mean of the seeds' gaps
    assert lo2 < 0.06 and hi2 > 0.24  # the seeds' spread is inside the interval
    assert hi2 - lo2 > 2 * (hi1 - lo1)


def test_pooled_gap_needs_tasks():
    with pytest.raises(ValueError, match="at least one seed"):
        headline.pooled_gap([[]])


def study(tmp_path):
    """F and L, seeds 0 and 1: short learned (no gap), reasoning learned (L loses 20 points in both seeds),
    multi_turn: F learned mrcr only in seed 0 (at chance in seed 1), so multi_turn is undecided."""
    for seed in (0, 1):
        short, reasoning = paired(N, 0.9, 0.0, seed=10 + seed), paired(N, 0.8, 0.2, seed=20 + seed)
        mrcr = paired(N, 0.7 if seed == 0 else 0.05, 0.0, seed=30 + seed)
        for pattern, side in (("F", 0), ("L", 1)):
            write_job(tmp_path, pattern, seed, {
                "one_fact_qa": task("one_fact_qa", "short", short[side], chance=0.05),
                "fact_chain": task("fact_chain", "reasoning", reasoning[side], chance=0.05),
                "mrcr": task("mrcr", "multi_turn", mrcr[side], chance=0.1)})
    return tmp_path


def test_rows_pool_seeds_and_leave_undecided_what_the_baseline_did_not_learn_in_every_seed(tmp_path):
    out, jobs = gaps.for_sweep(study(tmp_path))
    [row] = headline.rows(out, jobs, "F")
    assert row["system"] == "qwen3_next:L:tiny" and row["seeds"] == [0, 1] and not row["left_out"]
    cats = row["categories"]
    assert cats["reasoning"]["gap"] == pytest.approx(0.2) and cats["reasoning"]["distinguishable"]
    assert cats["reasoning"]["n"] == 2 * N and cats["reasoning"]["tasks"] == ["fact_chain"]
    assert cats["short"]["gap"] == pytest.approx(0.0) and not cats["short"]["distinguishable"]
    assert "seed 1: not above chance" in cats["multi_turn"]["undecided"] and "seed 0" not in cats["multi_turn"]["undecided"]
    # the check holds per seed: a clean control and a reasoning gap above it (multi_turn is judged where decided)
    assert row["minimax"]["verdict"] == "holds" and row["minimax"]["per_seed"] == {0: "holds", 1: "holds"}


def test_a_system_left_out_entirely_keeps_the_table_s_shape(tmp_path):
    b, v = paired(N, 0.8, 0.1, seed=1)
    write_job(tmp_path, "F", 0, {"fact_chain": task("fact_chain", "reasoning", b)})
    write_job(tmp_path, "L", 0, {"fact_chain": task("fact_chain", "reasoning", v)}, did_not_train=True)
    text = headline_report.markdown(headline_report.collect([tmp_path]))
    assert "| system | vs | seeds | steps | MiniMax check | report |" in text  # no category column without a gap
    assert "| `qwen3_next:L:tiny` | F | none | – | – | [report](" in text
    assert "Left out: `qwen3_next:L:tiny`: seed 0: did not train" in text


def test_the_command_writes_the_table_and_its_json_and_refuses_what_is_not_a_sweep(tmp_path, capsys):
    sweep = study(tmp_path / "qwen3_next")
    out = tmp_path / "study" / "headline.md"
    assert headline_report.main([str(sweep), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| `qwen3_next:L:tiny` | F | 0, 1 | 100 | +0.0 [" in text
    assert "**+20.0 [" in text and "undecided (1)" in text and "[report](../qwen3_next/report.md)" in text
    assert "| system | vs | seeds | steps | short | reasoning | multi_turn | MiniMax check | report |" in text
    assert "| **holds** | [report]" in text
    rows = json.loads(out.with_suffix(".json").read_text())
    assert rows[0]["categories"]["reasoning"]["gap"] == pytest.approx(0.2)
    # the scores behind the gaps: every task the baseline learned in both seeds (not mrcr), means over the seeds
    jobs = {(j["model"]["pattern"], j["seed"]): j for j in gaps.for_sweep(sweep)[1]}
    mean = {(p, t): np.mean([jobs[(p, s)]["tasks"][t]["score"] for s in (0, 1)]) for p in "FL" for t in ("one_fact_qa", "fact_chain")}
    assert list(rows[0]["accuracy"]) == ["one_fact_qa", "fact_chain"]
    assert rows[0]["accuracy"]["fact_chain"] == {"baseline": pytest.approx(mean[("F", "fact_chain")]),
                                                 "system": pytest.approx(mean[("L", "fact_chain")])}
    assert mean[("F", "fact_chain")] - mean[("L", "fact_chain")] == pytest.approx(0.2)
    assert "| task | `F` (seeds 0, 1) | `qwen3_next:L:tiny` |" in text
    assert f"| fact_chain | {100 * mean[('F', 'fact_chain')]:.1f} | {100 * mean[('L', 'fact_chain')]:.1f} |" in text
    assert "| mrcr |" not in text
    (tmp_path / "empty").mkdir()
    for bad, says in ((tmp_path / "nope", "is not a directory"), (tmp_path / "empty", "holds no finished job")):
        assert headline_report.main([str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("hybrid-eval-headline: error: ") and says in err and "\n" not in err


def test_a_system_whose_layout_is_a_preset_is_named_by_it(tmp_path):
    sweep = study(tmp_path / "qwen3_next")
    for seed in (0, 1):  # Gated DeltaNet-H1's layout beside the plain L
        write_job(sweep, "LS", seed, {"one_fact_qa": task("one_fact_qa", "short", paired(N, 0.9, 0.1, seed=seed)[1])})
    rows = headline.rows(*gaps.for_sweep(sweep), "F")
    assert [(r["system"], r["preset"]) for r in rows] == [("qwen3_next:L:tiny", None), ("qwen3_next:LS:tiny", "gdn_h1")]
    text = headline_report.markdown([r | {"sweep": str(sweep)} for r in rows])
    assert "| `qwen3_next:LS:tiny` (gdn_h1) | F |" in text and "| `qwen3_next:L:tiny` | F |" in text


def test_a_system_with_a_knob_away_from_its_default_says_so(tmp_path):
    """Kimi Linear with RoPE on its MLA (model.rope=true) is not the released NoPE system: its name says so; the
    family's defaults (rope false, window 64) add nothing."""
    for seed in (0, 1):
        f, v = paired(N, 0.9, 0.1, seed=seed)
        for pattern, scores in (("F", f), ("LLLF", v)):
            write_job(tmp_path, pattern, seed, {"one_fact_qa": task("one_fact_qa", "short", scores)},
                      family="kimi_linear")
    rows = headline.rows(*gaps.for_sweep(tmp_path), "F")
    assert [(r["system"], r["preset"]) for r in rows] == [("kimi_linear:LLLF:tiny", "kimi_linear")]
    jobs = gaps.for_sweep(tmp_path)[1]
    for job in jobs:
        job["model"] |= {"rope": True, "window": 64}
    [row] = headline.rows(gaps.for_sweep(tmp_path)[0], jobs, "F")
    assert row["system"] == "kimi_linear:LLLF:tiny[rope=True]" and row["preset"] is None  # not the released system
