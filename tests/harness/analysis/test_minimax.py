"""The MiniMax check (hybrid_eval/harness/analysis/minimax.py) on constructed categories whose gaps are known exactly:
the variant loses exactly `worse` of n examples the baseline answered."""
import pytest
from tests.harness.fake_sweep import paired

from hybrid_eval.harness.analysis import minimax


def cats(**spec):
    """{category: (baseline groups, variant groups)} from category=(n, worse)."""
    return {c: tuple([x] for x in paired(n, 0.8, worse, seed=i)) for i, (c, (n, worse)) in enumerate(spec.items())}


def test_a_variant_equal_to_the_baseline_is_undecided_at_small_n():
    r = minimax.minimax_check(cats(short=(50, 0), reasoning=(50, 0), multi_turn=(50, 0)))
    assert r["verdict"] == "undecided"
    assert r["control"]["gap"] == 0 and not r["targets"]["reasoning"]["powered"]
    assert "393" in r["reason"]


def test_a_variant_equal_to_the_baseline_fails_once_a_10_point_gap_would_show():
    r = minimax.minimax_check(cats(short=(500, 0), reasoning=(500, 0), multi_turn=(500, 0)))
    assert r["verdict"] == "fails" and r["targets"]["reasoning"]["powered"]


def test_30_points_worse_on_reasoning_and_0_on_short_holds():
    r = minimax.minimax_check(cats(short=(500, 0), reasoning=(500, 0.30), multi_turn=(500, 0)))
    assert r["verdict"] == "holds"
    t = r["targets"]["reasoning"]
    assert t["gap"] == pytest.approx(0.30) and t["n"] == 500
    # the binomial standard error of 0.3 lost answers in 500 is sqrt(.3*.7/500) = 0.0205: about +-4 points
    assert t["ci95"][0] == pytest.approx(0.30 - 1.96 * 0.0205, abs=0.01)
    assert t["diff"] == pytest.approx(0.30) and t["diff_ci95"][0] > 0.2
    assert "+30.0" in r["reason"]


def test_multi_turn_alone_is_enough():
    assert minimax.minimax_check(cats(short=(500, 0), multi_turn=(500, 0.2)))["verdict"] == "holds"


def test_a_small_significant_control_gap_still_counts_as_clean():
    r = minimax.minimax_check(cats(short=(4000, 0.03), reasoning=(500, 0.3)))
    assert r["control"]["ci95"][0] > 0 and r["control"]["clean"] and r["verdict"] == "holds"


def test_worse_everywhere_by_the_same_amount_is_undecided():
    r = minimax.minimax_check(cats(short=(500, 0.3), reasoning=(500, 0.3)))
    assert r["verdict"] == "undecided" and not r["control"]["clean"]
    assert r["targets"]["reasoning"]["diff_ci95"][0] < 0 < r["targets"]["reasoning"]["diff_ci95"][1]


def test_worse_on_the_control_than_on_the_targets_fails():
    r = minimax.minimax_check(cats(short=(500, 0.2), reasoning=(500, 0), multi_turn=(500, 0)))
    assert r["verdict"] == "fails"
    assert all(t["diff_ci95"][1] < 0 for t in r["targets"].values())


def test_without_a_control_or_a_target_the_check_is_undecided():
    assert minimax.minimax_check(cats(reasoning=(500, 0.3)))["verdict"] == "undecided"
    assert minimax.minimax_check(cats(short=(500, 0), long_context=(500, 0.3)))["verdict"] == "undecided"


def test_seeds_must_agree():
    assert minimax.combine_verdicts({0: "holds", 1: "holds"})["verdict"] == "holds"
    r = minimax.combine_verdicts({0: "holds", 1: "undecided"})
    assert r["verdict"] == "undecided" and "seed 1: undecided" in r["reason"]
