"""Tasks: generators of chat transcripts with difficulty knobs, and their scorers (see tasks/base.py).

The public API for task plugins (README, "Add a task"):

    from hybrid_eval.tasks import Task, TaskConfigError, register, user, assistant
"""
from hybrid_eval.tasks.base import (CATEGORIES, SPLITS, Example, Task, TaskConfigError, assistant, example_hash, normalize,
                                    user, words)
from hybrid_eval.tasks.registry import REGISTRY, build, get, include, register

__all__ = ["CATEGORIES", "SPLITS", "Example", "Task", "TaskConfigError", "assistant", "example_hash", "normalize",
           "user", "words", "REGISTRY", "build", "get", "include", "register"]
