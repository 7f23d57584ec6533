"""Suites and their data: the examples of every (task, split), generated once and cached as `datasets`.

The cache key hashes the task's name, version and knobs with n, seed and split, and the source file that defines
the task's class (`source_hash`), so a change to any of them, an edited `make_example` without a `version` bump
included, makes new data (the data itself depends only on the task's fingerprint and the seed, not on the file). Test examples are drawn first; validation skips test examples; train skips both.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import datasets

datasets.disable_progress_bars()

from hybrid_eval.tasks.base import Example, Task, TaskConfigError, example_hash
from hybrid_eval.tasks.registry import build, include

SPLIT_ORDER = ("test", "validation", "train")  # later splits exclude the earlier ones


@dataclass
class Suite:
    """A named list of tasks with knobs, as `conf/suite/*.yaml` describes it."""

    name: str
    tasks: list[Task] = field(default_factory=list)

    @classmethod
    def from_config(cls, cfg) -> "Suite":
        for spec in cfg.get("include", None) or []:
            include(str(spec))
        entries = cfg.get("tasks") or []
        if not entries:
            raise TaskConfigError(f"suite '{cfg.get('name')}' lists no tasks; add entries under suite.tasks")
        tasks = []
        for entry in entries:
            if isinstance(entry, str):
                tasks.append(build(entry))
            else:
                entry = dict(entry)
                if "name" not in entry:
                    raise TaskConfigError(f"suite '{cfg.get('name')}': entry {entry} has no `name`; give a registered task name")
                task = build(entry["name"], **dict(entry.get("knobs") or {}))
                task.alias = str(entry.get("alias") or task.name)
                tasks.append(task)
        names = [t.alias for t in tasks]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise TaskConfigError(
                f"suite '{cfg.get('name')}' lists {sorted(dupes)} twice; give each entry of the same task its own `alias`"
            )
        return cls(name=suite_name(cfg, tasks), tasks=tasks)

    def task(self, name: str) -> Task:  # by alias
        for t in self.tasks:
            if t.alias == name:
                return t
        raise KeyError(name)


def _entry_key(entry) -> tuple[str, str]:
    if isinstance(entry, str):
        return entry, entry
    return str(entry["name"]), str(entry.get("alias") or entry["name"])


def suite_name(cfg, tasks: list[Task]) -> str:
    """`suite.name`, unless it names a suite file of conf/suite whose tasks (names and aliases; knobs may differ, as
    in a difficulty sweep) are not the ones given: an inline `suite.tasks=[...]` on top of `suite=quick` is then named
    after its tasks (`one_fact_qa+mqar`, or `<n>-tasks-<hash>` when long), so results and W&B never call it `quick`."""
    from omegaconf import OmegaConf

    from hybrid_eval import config_dir

    name = str(cfg.get("name", "suite"))
    path = config_dir() / "suite" / f"{name}.yaml"
    if not path.is_file():
        return name
    listed = [_entry_key(e) for e in (OmegaConf.load(path).get("tasks") or [])]
    if listed == [_entry_key(e) for e in cfg.get("tasks")]:
        return name
    aliases = [t.alias for t in tasks]
    joined = "+".join(aliases)
    return joined if len(joined) <= 48 else f"{len(aliases)}-tasks-{hashlib.sha256(joined.encode()).hexdigest()[:8]}"


def source_hash(task: Task) -> str:
    """sha256 (16 hex) of the file defining `task`'s class (its module); "" when it has no readable file. Helpers
    the task imports from other files are not covered: bump `version` when you change those."""
    try:
        return hashlib.sha256(Path(inspect.getfile(type(task))).read_bytes()).hexdigest()[:16]
    except (OSError, TypeError):
        return ""


def cache_key(task: Task, n: int, seed: int, split: str, exclude_key: str = "") -> str:
    payload = json.dumps([task.fingerprint(), source_hash(task), n, seed, split, exclude_key])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_splits(task: Task, sizes: dict[str, int], seed: int, cache_dir: str | os.PathLike | None) -> dict[str, list[Example]]:
    """Examples for each split in `sizes` ({"train": n, "validation": n, "test": n}), disjoint by hash."""
    out: dict[str, list[Example]] = {}
    exclude: set[str] = set()
    key_chain = ""
    for split in SPLIT_ORDER:
        n = sizes.get(split, 0)
        if n <= 0:
            continue
        key = cache_key(task, n, seed, split, key_chain)
        examples = _cached(task, n, seed, split, frozenset(exclude), key, cache_dir)
        out[split] = examples
        exclude |= {example_hash(e) for e in examples}
        key_chain = hashlib.sha256((key_chain + key).encode()).hexdigest()[:16]
    return out


def _cached(task, n, seed, split, exclude, key, cache_dir) -> list[Example]:
    if cache_dir is None:
        return task.generate(n, seed, split, exclude)
    path = Path(cache_dir).expanduser() / f"{task.alias}-{split}-{key}"
    if path.exists():
        try:
            return datasets.load_from_disk(str(path)).to_list()
        except Exception:  # a broken cache entry is regenerated, never trusted
            shutil.rmtree(path, ignore_errors=True)
    examples = task.generate(n, seed, split, exclude)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    datasets.Dataset.from_list(examples).save_to_disk(str(tmp))
    try:
        os.replace(tmp, path)
    except OSError:  # another process wrote it first
        shutil.rmtree(tmp, ignore_errors=True)
    return examples


def answer_budgets(tokenizer, examples: dict[str, list[dict]], floor: int) -> dict[str, int]:
    """New tokens generated per scored turn, per task: `floor` (eval.max_new_tokens), raised to the task's longest
    gold answer in `examples` (in `tokenizer`'s tokens), so that a right answer is never cut off. One number per task
    and split, the same for every example and every variant that shares the tokenizer."""
    budgets = {}
    for name, exs in examples.items():
        longest = max((len(tokenizer.encode(ex["messages"][t]["content"], add_special_tokens=False))
                       for ex in exs for t in ex["scored_turns"]), default=0)
        budgets[name] = max(int(floor), longest)
    return budgets
