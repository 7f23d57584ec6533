"""The run config's schema: every knob a user sets on the command line, with its type and range, checked before any
work (no data, no training, no directory written) so that a typo costs one line, never a traceback or a silently
accepted value (README "Resuming and integrity").

    check(cfg)   the top-level keys, train.*, eval.*, suite.seed, cache_dir (below, SCHEMA), then each group's own
                 deeper checks (models.validate, kernels, eval.multi_turn..., train.lr_grid, train.max_seconds...)

A violation is a ConfigError: `key=value; accepted: ...`, exit code 2 (harness/errors.py). Task knobs are the tasks'
own (`Task.validate`), plugins are loaded atomically by the task registry, directories Hydra writes are checked by
the sweep guard (harness/guard.py).
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from hybrid_eval.harness.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str                 # int | number | choice
    low: float | None = None  # smallest accepted value (inclusive)
    above: bool = False       # low is exclusive
    null: bool = False        # null accepted (meaning given in `note`)
    choices: tuple = ()
    note: str = ""

    def accepted(self) -> str:
        if self.kind == "choice":
            text = ", ".join(self.choices)
        else:
            what = "an integer" if self.kind == "int" else "a number"
            text = what if self.low is None else f"{what} {'>' if self.above else '>='} {self.low:g}"
        return (f"null ({self.note}) or " if self.null else "") + text

    def problem(self, value) -> bool:
        if value is None:
            return not self.null
        if self.kind == "choice":
            return value not in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True
        if self.kind == "int" and not isinstance(value, int):
            return True
        if not math.isfinite(value):
            return True
        return self.low is not None and (value <= self.low if self.above else value < self.low)


SCHEMA = (
    Rule("seed", "int", 0),
    Rule("threads", "int", 1, null=True, note="the cores other processes leave free"),
    Rule("suite.seed", "int", 0),
    Rule("train.max_steps", "int", 1),
    Rule("train.batch_size", "int", 1),
    Rule("train.lr", "number", 0, above=True),
    Rule("train.warmup_steps", "int", 0),
    Rule("train.weight_decay", "number", 0),
    Rule("train.grad_clip", "number", 0, above=True),
    Rule("train.log_every", "int", 1),
    Rule("train.n_examples", "int", 1),
    Rule("train.n_validation", "int", 0),
    Rule("train.precision", "choice", choices=("auto", "bf16", "fp32")),
    Rule("kernels.autotune", "choice", choices=("fast", "full")),
    Rule("eval.n_test", "int", 1),
    Rule("eval.batch_size", "int", 1),
    Rule("eval.batch_tokens", "int", 1, null=True, note="no limit"),
    Rule("eval.max_new_tokens", "int", 1),
    Rule("eval.lm_eval_limit", "int", 1, null=True, note="every doc"),
    Rule("logger.mode", "choice", choices=("offline", "online", "disabled")),  # logger=wandb only (none has no mode)
)


def _value(cfg, key: str):
    """The value at `key`, resolved; a value that does not resolve (a bad interpolation) is a ConfigError."""
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception as e:  # interpolation or missing value: the config itself is wrong
        raise ConfigError(f"{key}: {str(e).splitlines()[0]}") from None
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def check_schema(cfg) -> None:
    for rule in SCHEMA:
        if OmegaConf.select(cfg, rule.key, default="<absent>") == "<absent>":
            continue  # a group that does not have the key (e.g. a pretrained model's train group is still there)
        value = _value(cfg, rule.key)
        if rule.problem(value):
            raise ConfigError(f"{rule.key}={value!r}; accepted: {rule.accepted()}")


def writable_dir(key: str, path) -> None:
    """A directory the run will write to must exist or be creatable, and take a file."""
    target = Path(str(path)).expanduser()
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, prefix=".write-check."):
            pass
    except OSError as e:
        raise ConfigError(f"{key}={str(path)!r} is not a writable directory ({e.strerror or type(e).__name__}); "
                          "accepted: a directory this user can create and write") from None


def check(cfg) -> None:
    """Every knob of the run config (SCHEMA, then each group's own checks); the first bad one is a ConfigError."""
    from hybrid_eval import models
    from hybrid_eval.harness.evaluate.scoring import check_eval_config
    from hybrid_eval.harness.train.loop import check_train_config
    from hybrid_eval.harness.train.lr_grid import check_lr_grid

    check_schema(cfg)
    models.validate(cfg.model)
    check_eval_config(cfg.eval)
    check_lr_grid(cfg.train)
    check_train_config(cfg.train)
    cache = _value(cfg, "cache_dir")
    if cache is not None:
        writable_dir("cache_dir", cache)
