"""The run config's schema (hybrid_eval/harness/config_check.py) and the sweep guard (harness/guard.py): every bad input
of the fault campaign is one line naming the key, the value and what is accepted, before any work. The real configs,
composed with Hydra; nothing is trained."""
import os

import pytest
from omegaconf import open_dict

from hybrid_eval.harness import config_check, guard
from hybrid_eval.harness.errors import ConfigError
from tests.conftest import compose_config
from tests.harness.fake_sweep import task, write_job

pytestmark = pytest.mark.faults  # part of the fault suite (`pytest -m faults`)

BAD = [  # (override, the message's start, what it accepts)
    ("train.lr=-1", "train.lr=-1", "a number > 0"),
    ("train.lr=abc", "train.lr='abc'", "a number > 0"),
    ("train.batch_size=0", "train.batch_size=0", "an integer >= 1"),
    ("train.n_examples=0", "train.n_examples=0", "an integer >= 1"),
    ("train.max_steps=-5", "train.max_steps=-5", "an integer >= 1"),
    ("train.max_steps=0", "train.max_steps=0", "an integer >= 1"),
    ("train.warmup_steps=-1", "train.warmup_steps=-1", "an integer >= 0"),
    ("train.precision=bogus", "train.precision='bogus'", "auto, bf16, fp32"),
    ("train.grad_clip=0", "train.grad_clip=0", "a number > 0"),
    ("kernels.autotune=slow", "kernels.autotune='slow'", "fast, full"),
    ("train.log_every=0", "train.log_every=0", "an integer >= 1"),
    ("eval.n_test=0", "eval.n_test=0", "an integer >= 1"),
    ("eval.batch_size=0", "eval.batch_size=0", "an integer >= 1"),
    ("eval.max_new_tokens=0", "eval.max_new_tokens=0", "an integer >= 1"),
    ("seed=abc", "seed='abc'", "an integer >= 0"),
    ("seed=1.5", "seed=1.5", "an integer >= 0"),
    ("threads=-1", "threads=-1", "null (the cores other processes leave free) or an integer >= 1"),
    ("suite.seed=abc", "suite.seed='abc'", "an integer >= 0"),
    ("logger.mode=bogus", "logger.mode='bogus'", "offline, online, disabled"),
    ("cache_dir=/proc/x", "cache_dir='/proc/x' is not a writable directory", "a directory this user can create"),
]


@pytest.mark.parametrize("override, says, accepted", BAD, ids=[b[0] for b in BAD])
def test_every_bad_knob_is_one_line_naming_key_value_and_accepted(override, says, accepted):
    with pytest.raises(ConfigError) as e:
        config_check.check(compose_config(["~experiment", override]))
    line = str(e.value)
    assert line.startswith(says) and f"accepted: {accepted}" in line and "\n" not in line


def test_the_default_configs_pass():
    config_check.check(compose_config([]))
    config_check.check(compose_config(["~experiment", "threads=2", "train.warmup_steps=0", "train.lr=3e-4"]))


def test_an_unwritable_sweep_dir_is_one_line(tmp_path):
    blocked = tmp_path / "a-file"  # a file where a directory must go: unwritable for root too
    blocked.write_text("")
    with pytest.raises(ConfigError, match=r"^hydra.sweep.dir='.*a-file/sweep' is not a writable directory \(Not a "
                                          r"directory\); accepted: a directory this user can create and write$"):
        config_check.writable_dir("hydra.sweep.dir", blocked / "sweep")
    if os.geteuid() != 0:  # permissions (root writes anywhere)
        locked = tmp_path / "ro"
        locked.mkdir()
        locked.chmod(0o500)
        with pytest.raises(ConfigError, match=r"\(Permission denied\)"):
            config_check.writable_dir("hydra.sweep.dir", locked / "sweep")


def test_a_baseline_outside_the_sweep_is_refused():
    """`gaps.baseline=X` was accepted: the report said "Baseline: X" and measured every gap against F."""
    cfg = compose_config(["gaps.baseline=X"])  # the default sweep over model.pattern=F,LLLF,L
    assert guard.swept_patterns(cfg) == ["F", "LLLF", "L"]
    with pytest.raises(ConfigError, match=r"^gaps.baseline='X' is not a pattern of this sweep; accepted: one of F, "
                                          r"LLLF, L, or a pattern with a finished job in hydra.sweep.dir$"):
        guard.check_baseline(cfg)
    guard.check_baseline(compose_config(["gaps.baseline=LLLF"]))
    with open_dict(cfg):
        cfg.hydra.sweeper.params = {}
    guard.check_baseline(cfg)  # one pattern (a seed sweep, say): nothing to choose from


def test_new_patterns_grow_a_sweep_that_already_holds_its_baseline(tmp_path):
    """`model.pattern=LLLLLLLF,L` into a sweep whose F jobs finished in an earlier call: the baseline is there."""
    sweep = tmp_path / "sweep"
    cfg = compose_config([])
    with open_dict(cfg):
        cfg.hydra.sweep.dir = str(sweep)
        cfg.hydra.sweeper.params = {"model.pattern": "LLLLLLLF,L"}
    with pytest.raises(ConfigError, match=r"^gaps.baseline='F' is not a pattern of this sweep"):
        guard.check_baseline(cfg)  # no directory yet
    tasks = {"t": task("t", "short", [1, 0, 1])}
    write_job(sweep, "LS", 0, tasks)
    damaged = write_job(sweep, "F", 0, tasks)
    with open(damaged / "samples.jsonl", "a") as f:
        f.write('{"task": "t"}\n')
    with pytest.raises(ConfigError, match=r"^gaps.baseline='F' is not a pattern of this sweep"):
        guard.check_baseline(cfg)  # a finished job of another pattern, and an F job whose samples changed, are none
    write_job(sweep, "F", 1, tasks)
    guard.check_baseline(cfg)
