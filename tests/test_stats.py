"""Bootstrap intervals and paired gaps against hand-computed cases."""
import numpy as np
import pytest

from harness import stats


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
