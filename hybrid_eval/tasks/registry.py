"""Task registry: names to classes, and loading of user task plugins (`suite.include=[...]`).

A plugin file is imported atomically and keyed by its resolved path (two files of the same name are two plugins): a
plugin that fails to import (a syntax error, an exception, a bad task) leaves nothing behind (no module in
`sys.modules`, none of its tasks registered) and is a TaskConfigError naming the file and line.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
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
            raise TaskConfigError(f"task name {name!r} is registered twice ({_where(REGISTRY[name])} and {_where(cls)}); "
                                  "accepted: one class per task name (rename one)")
    REGISTRY[name] = cls
    return cls


def _where(cls) -> str:
    """A task class's plugin file, or its module name for a built-in task."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    return file if file and cls.__module__.startswith("hybrid_eval_plugin_") else cls.__module__


def load_builtin() -> None:
    """Import the catalog so that every built-in task registers itself."""
    import hybrid_eval.tasks.catalog  # noqa: F401


def include(spec: str) -> None:
    """Import a user plugin: a path to a .py file or a dotted module name. Its `@register`s run on import."""
    path = Path(spec).expanduser()
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise TaskConfigError(f"suite.include: no such file {spec!r}; give a .py file path or an importable module name")
        path = path.resolve()
        mod_name = f"hybrid_eval_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
        if mod_name in sys.modules:
            return
        load_builtin()  # a plugin's task name is checked against the built-in ones too
        spec_obj = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_obj)
        registered = dict(REGISTRY)
        sys.modules[mod_name] = module
        try:
            spec_obj.loader.exec_module(module)
        except BaseException as e:  # all or nothing: no half-imported module, none of its tasks registered
            sys.modules.pop(mod_name, None)
            REGISTRY.clear()
            REGISTRY.update(registered)
            if not isinstance(e, Exception):
                raise
            if isinstance(e, TaskConfigError):  # the plugin's own task is wrong: its message says what is accepted
                raise TaskConfigError(f"suite.include: {path}: {e}") from None
            raise TaskConfigError(f"suite.include: {_failure(path, e)}; accepted: a plugin file that imports") from None
        return
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as e:
        raise TaskConfigError(f"suite.include: cannot import {spec!r} ({e}); give a .py file path or an importable module name") from None


def _failure(path: Path, e: Exception) -> str:
    """`FILE:LINE: Error: message` for a plugin import that raised (the deepest line of the plugin file)."""
    if isinstance(e, SyntaxError) and e.filename and Path(e.filename).resolve() == path:
        return f"{path}:{e.lineno}: {type(e).__name__}: {e.msg}"
    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename and Path(f.filename).resolve() == path]
    where = f"{path}:{lines[-1]}" if lines else str(path)
    message = str(e).splitlines()[0] if str(e) else ""
    return f"{where}: {type(e).__name__}: {message}" if message else f"{where}: {type(e).__name__}"


def get(name: str) -> type[Task]:
    load_builtin()
    if name not in REGISTRY:
        raise TaskConfigError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def build(name: str, **knobs) -> Task:
    return get(name)(**knobs)
