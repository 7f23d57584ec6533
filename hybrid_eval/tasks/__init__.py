"""Tasks: generators of chat transcripts with difficulty knobs, and their scorers (see tasks/base.py)."""
from hybrid_eval.tasks.base import CATEGORIES, SPLITS, Example, Task, TaskConfigError, example_hash, normalize
from hybrid_eval.tasks.registry import REGISTRY, build, get, include, register

__all__ = ["CATEGORIES", "SPLITS", "Example", "Task", "TaskConfigError", "example_hash", "normalize",
           "REGISTRY", "build", "get", "include", "register"]
