"""pass^k and pass@k against hand-computed values."""
from __future__ import annotations

import pytest

from hybrid_eval.harness.analysis.pass_k import pass_at_k, pass_hat_k

EPISODES = [[True, True, False, True], [True, False, False, False], [False, False, False, False]]


def test_pass_hat_k_hand_computed():
    # episode 1: n=4, c=3 -> C(3,2)/C(4,2) = 3/6; episode 2: c=1 -> 0; episode 3: c=0 -> 0
    assert pass_hat_k(EPISODES, 2) == pytest.approx((3 / 6) / 3)
    assert pass_hat_k(EPISODES, 1) == pytest.approx((3 / 4 + 1 / 4 + 0) / 3)
    assert pass_hat_k(EPISODES, 3) == pytest.approx((1 / 4) / 3)  # C(3,3)/C(4,3)
    assert pass_hat_k(EPISODES, 4) == 0.0
    assert pass_hat_k([[True] * 5], 5) == 1.0


def test_pass_at_k_hand_computed():
    # episode 1: 1 - C(1,2)/C(4,2) = 1; episode 2: 1 - C(3,2)/C(4,2) = 1/2; episode 3: 0
    assert pass_at_k(EPISODES, 2) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert pass_at_k(EPISODES, 1) == pytest.approx(pass_hat_k(EPISODES, 1))


def test_pass_k_is_the_probability_that_k_draws_all_succeed():
    # brute force over ordered draws without replacement, as the estimator assumes
    from itertools import permutations

    runs = [True, False, True, True, False]
    draws = list(permutations(runs, 3))
    assert pass_hat_k([runs], 3) == pytest.approx(sum(all(d) for d in draws) / len(draws))


@pytest.mark.parametrize("episodes, k", [([], 1), ([[True]], 2), ([[True, False]], 0)])
def test_bad_inputs(episodes, k):
    with pytest.raises(ValueError):
        pass_hat_k(episodes, k)
