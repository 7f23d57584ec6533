"""User errors: one line on stderr naming the bad value and what is accepted, exit code 2, no traceback."""
from __future__ import annotations

import sys
from contextlib import contextmanager

from hybrid_eval.models.family import ModelConfigError
from hybrid_eval.tasks.base import TaskConfigError


class ConfigError(ValueError):
    """A run option the user gave is invalid (not a task or model knob)."""


USER_ERRORS = (ConfigError, ModelConfigError, TaskConfigError)


@contextmanager
def user_errors():
    try:
        yield
    except USER_ERRORS as e:
        print(f"hybrid-eval: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
