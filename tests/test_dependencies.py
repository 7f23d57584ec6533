"""The architecture's dependencies run one way (README, Layout): kernels <- models <- harness, tasks <- harness, and
inside harness/ the run's steps import only what comes before them. Read from the source (every import, the lazy
ones inside functions too), so a new import that runs back up fails here with the module and the name it imported."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hybrid_eval"

# area -> areas it must never import
FORBIDDEN = {
    "kernels": {"models", "tasks", "harness"},
    "models": {"tasks", "harness"},
    "tasks": {"kernels", "models", "harness"},
    "harness.train": {"harness.decode", "harness.evaluate", "harness.analysis", "harness.report", "harness.run"},
    "harness.decode": {"harness.train", "harness.evaluate", "harness.analysis", "harness.report", "harness.run"},
    "harness.analysis": {"harness.decode", "harness.evaluate", "harness.report", "harness.run"},
    "harness.evaluate": {"harness.train", "harness.report", "harness.run"},
    "harness.report": {"harness.decode", "harness.evaluate", "harness.run"},
}


def area(module: str) -> str | None:
    """`hybrid_eval.harness.train.loop` -> `harness.train`; `hybrid_eval.models.cache` -> `models`."""
    parts = module.split(".")
    if parts[0] != "hybrid_eval" or len(parts) < 2:
        return None
    if parts[1] == "harness" and len(parts) > 2:
        return "harness." + ("run" if parts[2] in ("run", "cli") else parts[2])
    return parts[1]


def imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def edges() -> list[tuple[str, str, str, str]]:
    """(importing module, its area, imported name, that name's area) for every import between areas."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        src = area(module)
        for name in imports(path):
            dst = area(name)
            if src and dst and dst != src:
                out.append((module, src, name, dst))
    return out


def test_no_import_runs_back_up():
    wrong = [f"{module} imports {name}" for module, src, name, dst in edges()
             if any(dst == f or dst.startswith(f + ".") for f in FORBIDDEN.get(src, ()))]
    assert not wrong, wrong


def test_the_package_uses_no_relative_imports_and_nothing_outside_it():
    """Benchmarks and experiments depend on the package, never the reverse (they are scripts, not modules of it)."""
    outside = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        outside += [f"{path.name}: relative import" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        outside += [f"{path.name}: {name}" for name in imports(path)
                    if name.split(".")[0] in ("benchmarks", "experiments", "tests", "bench_decode", "bench_kernels",
                                               "mqar_probe")]
    assert not outside, outside


def test_the_dependency_checker_sees_a_known_edge():
    """The checker is not vacuous: it finds models -> kernels (the binding) and harness.report -> harness.analysis."""
    found = {(src, dst) for _, src, _, dst in edges()}
    assert ("models", "kernels") in found and ("harness.report", "harness.analysis") in found
