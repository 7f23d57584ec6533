"""Task registry: names to classes, and loading of user task plugins (`suite.include=[...]`)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from hybrid_eval.tasks.base import CATEGORIES, Task, TaskConfigError

REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: `@register class MyTask(Task): name = "my_task"; category = "reasoning"`."""
    if getattr(cls, "category", None) not in CATEGORIES:
        raise TaskConfigError(f"task {cls.__name__}: category {getattr(cls, 'category', None)!r}; accepted: {', '.join(CATEGORIES)}")
    name = getattr(cls, "name", None)
    if not name:
        raise TaskConfigError(f"task {cls.__name__} has no name")
    if name in REGISTRY and REGISTRY[name] is not cls:
        if REGISTRY[name].__qualname__ != cls.__qualname__ or REGISTRY[name].__module__ != cls.__module__:
            raise TaskConfigError(f"task name {name!r} is registered twice ({REGISTRY[name].__module__} and {cls.__module__})")
    REGISTRY[name] = cls
    return cls


def load_builtin() -> None:
    """Import the catalog so that every built-in task registers itself."""
    import hybrid_eval.tasks.catalog  # noqa: F401


def include(spec: str) -> None:
    """Import a user plugin: a path to a .py file or a dotted module name. Its `@register`s run on import."""
    path = Path(spec).expanduser()
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise TaskConfigError(f"suite.include: no such file {spec!r}; give a .py file path or an importable module name")
        mod_name = f"hybrid_eval_plugin_{path.stem}"
        if mod_name in sys.modules:
            return
        spec_obj = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_obj)
        sys.modules[mod_name] = module
        spec_obj.loader.exec_module(module)
        return
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as e:
        raise TaskConfigError(f"suite.include: cannot import {spec!r} ({e}); give a .py file path or an importable module name") from None


def get(name: str) -> type[Task]:
    load_builtin()
    if name not in REGISTRY:
        raise TaskConfigError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def build(name: str, **knobs) -> Task:
    return get(name)(**knobs)
