"""User errors: one line on stderr naming the bad value and what is accepted, exit code 2, no traceback."""
from __future__ import annotations

import sys
from contextlib import contextmanager

from hybrid_eval.models.family import ModelConfigError
from hybrid_eval.tasks.base import TaskConfigError


class ConfigError(ValueError):
    """A run option the user gave is invalid (not a task or model knob)."""


class EndpointError(RuntimeError):
    """A model server that cannot be used: unreachable after every retry, or refusing every request (bad key,
    unknown model). The job stops; replies already received stay in the reply cache (harness/decode/endpoint.py)."""


USER_ERRORS = (ConfigError, ModelConfigError, TaskConfigError, EndpointError)


@contextmanager
def user_errors():
    try:
        yield
    except USER_ERRORS as e:
        print(f"hybrid-eval: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
