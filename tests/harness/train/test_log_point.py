"""Training log points report the current speed (since the last point), not the average since the start: on a
machine whose load changes, the average lagged far behind (it said 0.4 steps/s while a job ran at 5)."""
import logging
from types import SimpleNamespace

import pytest

from hybrid_eval.harness.train.loop import _log_point


def test_the_rate_is_over_the_last_window(caplog):
    opt = SimpleNamespace(param_groups=[{"lr": 1e-3}])
    curve, since, logged = [], {"step": 0, "clock": 0.0, "tokens": 0}, []
    log = lambda metrics, step: logged.append((step, metrics))  # noqa: E731
    with caplog.at_level(logging.INFO, logger="hybrid_eval.harness.train.loop"):
        # 20 steps in 10 s (2/s, 1000 tokens), then 20 steps in 2 s (10/s, 1000 tokens): the machine got faster
        first = _log_point(curve, [4.0, 2.0], 20, None, opt, 1000, 10.0, since, log, echo="job")
        again = _log_point(curve, [1.0], 40, first, opt, 2000, 12.0, since, log, echo="job")
    assert (first, again) == (3.0, 3.0) and curve == [[20, 3.0], [40, 1.0]]
    assert [m["train/tokens_per_s"] for _, m in logged] == [pytest.approx(100.0), pytest.approx(500.0)]  # not 2000/12
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["job step 20: loss 3.0000, lr 0.001, 2.0 steps/s, 100 tokens/s, 10 s",
                     "job step 40: loss 1.0000, lr 0.001, 10.0 steps/s, 500 tokens/s, 12 s"]
    assert since == {"step": 40, "clock": 12.0, "tokens": 2000}
