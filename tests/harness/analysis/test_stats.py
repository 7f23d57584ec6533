"""Bootstrap intervals and paired gaps against hand-computed cases."""
import numpy as np
import pytest

from hybrid_eval.harness.analysis import stats


def test_constant_differences_have_a_degenerate_interval():
    base = [np.ones(50)]
    var = [np.r_[np.zeros(10), np.ones(40)]]
    gap, lo, hi = stats.paired_gap(base, var)
    assert gap == pytest.approx(0.2)
    # resampling 50 differences that are 1 w.p. 0.2: the 95% interval is about 0.2 ± 1.96*sqrt(.16/50)
    assert lo == pytest.approx(0.2 - 1.96 * np.sqrt(0.16 / 50), abs=0.03)
    assert hi == pytest.approx(0.2 + 1.96 * np.sqrt(0.16 / 50), abs=0.03)


def test_identical_scores_give_zero_gap():
    s = [np.array([0, 1, 1, 0, 1.0])]
    assert stats.paired_gap(s, s) == (0.0, 0.0, 0.0)


def test_category_mean_weighs_tasks_equally():
    est, lo, hi = stats.mean_ci([np.ones(10), np.zeros(1000)])
    assert est == pytest.approx(0.5)
    assert lo <= est <= hi


def test_misaligned_pairs_are_an_error():
    with pytest.raises(ValueError, match="baseline scores"):
        stats.paired_gap([np.ones(3)], [np.ones(4)])


def test_bootstrap_interval_matches_the_exact_resampling_distribution():
    # 4 examples, 3 right: a resample's mean is k/4 with k ~ Binomial(4, 3/4), so
    # P(k<=0)=1/256, P(k<=1)=13/256=0.051, P(k<=3)=175/256=0.684: the 2.5% quantile is k=1, the 97.5% is k=4
    est, lo, hi = stats.mean_ci([np.array([1.0, 1, 1, 0])])
    assert (est, lo, hi) == (0.75, 0.25, 1.0)


def test_gap_difference_of_two_categories_by_hand():
    # gap A: 10 examples all lost -> exactly 1; gap B: diffs [1, 0] -> resampled mean 0, .5 or 1 (1/4, 1/2, 1/4)
    a = ([np.ones(10)], [np.zeros(10)])
    b = ([np.array([1.0, 1.0])], [np.array([0.0, 1.0])])
    d, lo, hi = stats.gap_difference(a, b)
    assert (d, lo, hi) == (0.5, 0.0, 1.0)


def test_gap_sign_is_positive_when_the_variant_is_worse():
    base, worse = [np.ones(20)], [np.r_[np.zeros(5), np.ones(15)]]
    assert stats.paired_gap(base, worse)[0] == pytest.approx(0.25)
    assert stats.paired_gap(worse, base)[0] == pytest.approx(-0.25)


def test_seed_spread_by_hand():
    s = stats.seed_spread([0.1, 0.2, 0.3])
    assert s["mean"] == pytest.approx(0.2) and s["std"] == pytest.approx(0.1)  # sample std, ddof=1
    assert (s["min"], s["max"], s["n"]) == (0.1, 0.3, 3)
    assert stats.seed_spread([0.4])["std"] == 0.0


def test_ten_point_gap_needs_393_examples():
    # 2 * (1.95996 + 0.84162)^2 * 0.25 / 0.01 = 392.4
    assert stats.n_to_detect(0.10) == 393
    assert stats.n_to_detect(0.20) == 99
