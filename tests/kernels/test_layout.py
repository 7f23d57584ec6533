"""The kernels package's layout: one folder per op with reference / torch_chunked / fla files, shared chunk helpers in
kernels/common/, and no op folder importing another op's folder."""

from __future__ import annotations

import ast
from pathlib import Path

import hybrid_eval.kernels

KERNELS = Path(hybrid_eval.kernels.__file__).parent
OPS = ("gated_delta", "kda", "lightning", "short_conv")


def kernel_imports(path: Path) -> set[str]:
    """The hybrid_eval.kernels.* modules a file imports, as the part after ``hybrid_eval.kernels.``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n.removeprefix("hybrid_eval.kernels.") for n in names if n.startswith("hybrid_eval.kernels.")}
    return found


def test_every_op_folder_has_its_three_backend_files():
    for op in OPS:
        assert sorted(p.name for p in (KERNELS / op).glob("*.py")) == [
            "__init__.py", "fla.py", "reference.py", "torch_chunked.py"
        ], op


def test_no_op_folder_imports_a_sibling_op():
    crossing = {
        (f"{op}/{path.name}", module)
        for op in OPS
        for path in (KERNELS / op).glob("*.py")
        for module in kernel_imports(path)
        if module.split(".")[0] in OPS and module.split(".")[0] != op
    }
    assert crossing == set()


def test_the_chunked_ops_share_kernels_common():
    uses = {op: sorted(m for m in kernel_imports(KERNELS / op / "torch_chunked.py") if m.startswith("common"))
            for op in OPS}
    assert uses == {
        "gated_delta": ["common.chunk", "common.delta_rule"],
        "kda": ["common.chunk", "common.delta_rule"],
        "lightning": ["common.chunk"],
        "short_conv": [],  # one grouped conv1d, no chunks
    }
