"""train.* settings that are valid but defeat themselves get one warning line before any work."""
import logging

import pytest
from omegaconf import OmegaConf

from hybrid_eval.harness.train.loop import check_train_config


@pytest.mark.parametrize("overrides,says", [
    ({"max_steps": 40, "warmup_steps": 60}, "train.warmup_steps=60 >= train.max_steps=40: the learning rate never reaches"),
    ({"max_steps": 5, "warmup_steps": 1, "log_every": 20}, "train.max_steps=5 <= train.log_every=20 gives one logged loss point"),
    ({"max_steps": 600, "warmup_steps": 60, "log_every": 20}, None),
])
def test_self_defeating_budgets_are_named(overrides, says, caplog):
    cfg = OmegaConf.create({"max_steps": 600, "warmup_steps": 60, "log_every": 20, **overrides})
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.train.loop"):
        assert check_train_config(cfg) == (None, None)
    lines = [r.getMessage() for r in caplog.records]
    assert (lines == []) if says is None else (len(lines) == 1 and lines[0].startswith(says)), lines
