"""Backend choice for the linear-attention ops: per call, by the tensors' device (DESIGN.md §5).

transformers picks its kernels at import time, so with flash-linear-attention installed it would call Triton
kernels on CPU tensors. Here every public op calls :func:`resolve` with its tensors on every call:

- ``"reference"``: the token-by-token float32 loop, the specification;
- ``"torch"``: the chunked, vectorised PyTorch form (CPU and GPU, differentiable);
- ``"fla"``: flash-linear-attention's Triton kernels (CUDA tensors only);
- ``"auto"``: the run's default if :func:`set_backend` named one, else ``"fla"`` when the tensors are on CUDA
  and fla is importable, else ``"torch"``.

Every op counts its calls in :data:`calls`, keyed ``(op, backend)``, so a test can prove by counting that a
model's forward ran our op with the backend it asked for.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
from collections import Counter

import torch

BACKENDS = ("auto", "reference", "torch", "fla")
OPS = ("lightning", "gated_delta", "kda", "short_conv")

calls: Counter = Counter()  # (op, backend) -> number of calls, e.g. calls[("gated_delta", "torch")]

_default = "auto"


def _check_name(name: str) -> str:
    if name not in BACKENDS:
        accepted = ", ".join(repr(b) for b in BACKENDS)
        raise ValueError(f"unknown kernel backend {name!r}; accepted: {accepted}.")
    return name


def set_backend(name: str) -> str:
    """Set the backend that ``backend="auto"`` resolves to for the rest of the run; return the previous one.

    ``set_backend("auto")`` restores per-call choice by device. The run config's ``kernels.backend`` calls this.
    """
    global _default
    previous, _default = _default, _check_name(name)
    return previous


def get_backend() -> str:
    """The run's default backend (``"auto"`` unless :func:`set_backend` changed it)."""
    return _default


@functools.cache
def fla_available() -> bool:
    """Whether flash-linear-attention (``import fla``) can be imported; looked up once, without importing it."""
    return importlib.util.find_spec("fla") is not None


def resolve(backend: str, *tensors: torch.Tensor) -> str:
    """Turn a requested backend into the concrete one (``reference``, ``torch`` or ``fla``) for these tensors.

    Raises one-line ``ValueError`` for an unknown name, for ``fla`` with non-CUDA tensors, and for ``fla``
    when flash-linear-attention is not installed.
    """
    name = _check_name(backend)
    if name == "auto":
        name = _default
    on_cuda = any(t is not None and t.is_cuda for t in tensors)
    if name == "auto":
        return "fla" if on_cuda and fla_available() else "torch"
    if name == "fla":
        devices = sorted({t.device.type for t in tensors if t is not None and not t.is_cuda})
        if devices:
            raise ValueError(
                f"backend 'fla' needs CUDA tensors; got {', '.join(devices)}. Use backend='torch' or 'auto'."
            )
        if not fla_available():
            raise ValueError(
                "backend 'fla' needs flash-linear-attention, which is not installed: "
                "pip install 'hybrid-eval[gpu]' (or use backend='torch' or 'auto')."
            )
    return name


def count(op: str, backend: str) -> None:
    """Record one call of ``op`` run with the concrete ``backend``."""
    calls[(op, backend)] += 1


def implementation(op: str, backend: str, reference, chunked, tensors=()):
    """The function that runs `op` on the resolved `backend`, counted in `calls`: the reference loop, the
    chunked torch form, or the wrapper in kernels/<op>/fla.py (imported only when chosen: it imports Triton).

    When fla is chosen, gradients are needed (autograd on and one of `tensors` requires grad) and fla cannot
    run this op's backward here (:func:`fla_backward_ok`), the forward stays fla's and the backward is the torch
    form's, recomputed (:mod:`kernels.recompute`); that path is counted as ``(op, "fla+torch_backward")``.
    """
    if backend == "reference":
        count(op, backend)
        return reference
    if backend == "torch":
        count(op, backend)
        return chunked
    fla = getattr(importlib.import_module(f"hybrid_eval.kernels.{op}.fla"), f"{op}_fla")
    if needs_grad(tensors):
        device = next(t.device for t in tensors if t is not None)
        ok, _ = _fla_backward_ok_cached(op, device.index or 0)  # CUDA tensors always carry their index
        if not ok:
            from hybrid_eval.kernels.recompute import forward_backward

            count(op, FLA_TORCH_BACKWARD)
            return forward_backward(fla, chunked)
    count(op, backend)
    return fla


def needs_grad(tensors) -> bool:
    """Whether autograd will want gradients through an op called on `tensors` (None entries allowed)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


RECURRENT_MAX_T = 64  # fla's own layers switch to the fused recurrent kernel at or below 64 tokens


def run_fla(chunk, recurrent, q, k, v, scale, initial_state, output_final_state, **inputs):
    """Call one of fla's op pairs on our layout: the fused recurrent kernel for short inputs without autograd
    (decoding; it has no backward), else the chunk kernel. `inputs` are the op's other tensors by fla's keyword
    (g, beta; g_gamma). Returns (o, final state in float32 or None)."""
    tensors = (q, k, v, initial_state, *inputs.values())
    run = recurrent if q.shape[1] <= RECURRENT_MAX_T and not needs_grad(tensors) else chunk
    o, state = run(q, k, v, scale=scale, initial_state=initial_state, output_final_state=output_final_state, **inputs)
    return o, (state.float() if output_final_state else None)


FLA_TORCH_BACKWARD = "fla+torch_backward"  # the path name in `calls` for fla forward + torch backward


@functools.cache
def _fla_backward_ok_cached(op: str, device_index: int) -> tuple[bool, str]:
    return fla_backward_ok(op, device_index)


def _version_tuple(text: str) -> tuple[int, ...]:
    """'3.6.0+git1234' -> (3, 6, 0); enough to compare release numbers."""
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def fla_backward_ok(op: str = "gated_delta", device: torch.device | int | None = None) -> tuple[bool, str]:
    """Whether fla's backward pass for ``op`` can run here, and why not (DESIGN.md §9, fla issue #640).

    flash-linear-attention 0.6.0 refuses the backward of its *gated* ``chunk_bwd_dqkwg`` kernel on Hopper
    (compute capability 9.x, H100/H200) with Triton >= 3.4 and < 3.7.1, because that Triton miscompiles it; it
    raises ``RuntimeError`` there unless tilelang is installed (fla then routes the kernel through its TileLang
    backend). Reading fla 0.6.0's source, that kernel is reached by ``chunk_gated_delta_rule`` (``op=
    "gated_delta"``) only: ``chunk_kda`` has its own backward kernels, ``chunk_simple_gla`` with a constant
    ``g_gamma`` (our ``lightning``) calls it with ``g=None``, which is not refused, and the causal conv has
    its own. Forward passes work everywhere. Checked on an H200 with Triton 3.6.0 and fla 0.6.0 (2026-11-27):
    ``chunk_gated_delta_rule``'s backward raised fla's #640 error, while ``chunk_kda`` and ``chunk_simple_gla``
    (``g_gamma``) ran their backward and matched our torch backend.

    The training path uses this to choose fla forward + torch backward, or torch, when the answer is False.
    Returns ``(True, reason)`` or ``(False, reason)``; the reason is one line for logs and run summaries.
    """
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; accepted: {', '.join(OPS)}.")
    if not fla_available():
        return False, "flash-linear-attention is not installed"
    if not torch.cuda.is_available():
        return False, "no CUDA device"
    if op != "gated_delta":
        return True, f"fla's {op} backward does not use the gated chunk_bwd_dqkwg kernel refused on Hopper"
    major, minor = torch.cuda.get_device_capability(device)
    name = torch.cuda.get_device_name(device)
    hopper = major == 9 or "NVIDIA H" in name  # fla's own test (fla.utils.hardware.IS_NVIDIA_HOPPER)
    try:
        triton_version = importlib.metadata.version("triton")
    except importlib.metadata.PackageNotFoundError:
        return False, "triton is not installed"
    bad_triton = (3, 4, 0) <= _version_tuple(triton_version) < (3, 7, 1)
    if not (hopper and bad_triton):
        return True, f"{name} (sm_{major}{minor}) with Triton {triton_version} is not affected by fla issue #640"
    if importlib.util.find_spec("tilelang") is not None:
        return True, f"Triton {triton_version} on {name} is affected by fla issue #640, but tilelang is installed"
    return False, (
        f"fla refuses gated backward on {name} (sm_{major}{minor}) with Triton {triton_version} "
        "(>= 3.4, < 3.7.1; fla issue #640): needs Triton >= 3.7.1 or tilelang; use the torch backward"
    )
