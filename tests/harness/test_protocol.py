"""Did-not-train detection on hand-made cases."""
from harness.protocol import clears_chance, did_not_train

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
