"""`hybrid-eval-tasks`: list the registered tasks, one line each: name, category, knobs with defaults."""
from __future__ import annotations

import dataclasses
import sys

from hybrid_eval.tasks.base import CATEGORIES
from hybrid_eval.tasks.registry import REGISTRY, load_builtin


def lines() -> list[str]:
    load_builtin()
    out = []
    for name in sorted(REGISTRY, key=lambda n: (CATEGORIES.index(REGISTRY[n].category), n)):
        cls = REGISTRY[name]
        knobs = " ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls.Knobs))
        out.append(f"{name:<18} {cls.category:<13} {knobs}")
    return out


def main(argv: list[str] | None = None) -> int:
    print("\n".join(lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
