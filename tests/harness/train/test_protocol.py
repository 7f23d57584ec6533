"""The protocol's verdicts on hand-made cases: did-not-train detection and the convergence rule."""
import numpy as np
import pytest

from hybrid_eval.harness.train import protocol
from hybrid_eval.harness.train.protocol import clears_chance, did_not_train

CHANCE = {"chance": 1 / 64, "n": 100}


def test_margin_is_three_binomial_standard_errors():
    # chance 1/64, n=100: sd = sqrt(0.0156 * 0.984 / 100) = 0.0124; margin 0.0373
    assert not clears_chance(0.05, 1 / 64, 100)
    assert clears_chance(0.06, 1 / 64, 100)


def test_flat_loss_did_not_train_even_with_a_lucky_task():
    flag, reason = did_not_train(4.16, 4.15, {"mqar": {"score": 0.5, **CHANCE}})
    assert flag and "loss" in reason


def test_chance_everywhere_did_not_train():
    flag, reason = did_not_train(4.0, 2.0, {"mqar": {"score": 0.02, **CHANCE}, "fact": {"score": 0.03, **CHANCE}})
    assert flag and "chance" in reason


def test_one_task_above_chance_and_a_falling_loss_trained():
    flag, reason = did_not_train(4.0, 2.0, {"mqar": {"score": 0.02, **CHANCE}, "fact": {"score": 0.4, **CHANCE}})
    assert not flag and "fact" in reason


# ---------------------------------------------------------------- convergence

def test_still_improving_by_hand():
    # 100 steps: the last 20% holds 2 points, so the last 3 (80, 90, 100) with losses 1.0, 0.9, 0.85:
    # slope -1.5/200 = -0.0075, residuals (1/120, -1/60, 1/120), SE = sqrt(SSR / 1 / 200) = 0.0014434
    curve = [[s, 1.0] for s in range(10, 80, 10)] + [[80, 1.0], [90, 0.9], [100, 0.85]]
    r = protocol.still_improving(curve)
    assert r["points"] == 3 and r["slope"] == pytest.approx(-0.0075) and r["se"] == pytest.approx(0.0014434, rel=1e-4)
    assert r["improving"] is True and r["drop"] == pytest.approx(0.15)
    assert (r["tail"], r["z"]) == (0.2, 2.0)


def test_falling_loss_is_improving_flat_or_noisy_is_not():
    rng = np.random.default_rng(0)
    # falling by 0.004 per step over 400 steps: the last 20% (steps 340..400, 4 points) fit slope -0.004 exactly
    falling = protocol.still_improving([[s, 5.0 - 0.004 * s] for s in range(20, 420, 20)])
    assert falling["improving"] is True and falling["points"] == 4
    assert falling["slope"] == pytest.approx(-0.004) and falling["drop"] == pytest.approx(0.24)
    flat = protocol.still_improving([[s, 2.0] for s in range(20, 420, 20)])
    assert flat["improving"] is False and flat["slope"] == pytest.approx(0.0, abs=1e-12)
    noisy = [[s, 2.0 + 0.05 * rng.standard_normal()] for s in range(20, 420, 20)]
    assert protocol.still_improving(noisy)["improving"] is False
    # a loss that rose at the end is not improving either
    assert protocol.still_improving([[s, 1.0 + 0.001 * s] for s in range(20, 420, 20)])["improving"] is False
    assert protocol.still_improving([[1, 3.0], [2, 2.0]])["improving"] is None


def test_a_converged_loss_still_falling_by_less_than_min_fall_is_not_improving():
    # a loss at 2e-4 falling linearly (no noise: significant): the tail is steps 1650..2000, so the fitted fall is
    # 350 x 2e-7 = 7e-5 nats, far below MIN_FALL; the same shape at 100x the scale (7e-3 nats) is still below it
    tiny = protocol.still_improving([[s, 2e-4 - 2e-7 * s] for s in range(50, 2050, 50)])
    assert tiny["drop"] == pytest.approx(7e-5) and tiny["improving"] is False
    assert protocol.still_improving([[s, 2e-2 - 2e-5 * s] for s in range(50, 2050, 50)])["improving"] is False
    # falling by 350 x 3e-5 = 0.0105 nats over the tail: improving
    assert protocol.still_improving([[s, 2.0 - 3e-5 * s] for s in range(50, 2050, 50)])["improving"] is True


def test_recorded_convergence_is_what_every_reader_sees():
    falling = [[s, 5.0 - 0.004 * s] for s in range(20, 420, 20)]
    tr = protocol.record_convergence({"loss_curve": falling})
    assert tr["still_improving"] is True and tr["convergence"]["slope"] == pytest.approx(-0.004)
    # results written before the verdict was recorded: the same rule on their loss curve
    assert protocol.convergence({"loss_curve": falling}) == tr["convergence"]
    # a recorded verdict wins over recomputing (one rule, decided once, at training time)
    assert protocol.convergence({"loss_curve": falling, "convergence": {"improving": False, "slope": 0.0}})["improving"] is False
    assert protocol.convergence(None)["improving"] is None


def test_one_logged_point_leaves_the_loss_criterion_unmeasured():
    """A run shorter than train.log_every logs one point: its first and last loss are the same number."""
    val = {"t": {"score": 0.9, "chance": 0.1, "n": 100}}
    assert protocol.did_not_train(5.118, 5.118, val, points=1) == (False, "validation above chance on t")
    assert protocol.did_not_train(5.118, 5.118, val, points=2)[0]  # two points that did not fall: did not train
    assert protocol.did_not_train(5.118, 5.118, {"t": {"score": 0.1, "chance": 0.1, "n": 100}}, points=1) == (
        True, "validation accuracy at chance on every task")
