"""The ``"fla"`` backend: flash-linear-attention's Triton kernels, for CUDA tensors (docs/design.md §5, §9).

transformers picks its kernels at import time, so with flash-linear-attention installed it would call Triton
kernels on CPU tensors; here the verifier looks at every call's tensors. It refuses, each in one line,
non-CUDA tensors and a missing fla install. For a call that needs gradients it also runs the Hopper backward
check (:func:`fla_backward_ok`, fla issue #640): where fla refuses its gated backward, the verdict routes the gated
delta rule through fla's KDA kernels (``GATED_DELTA_ROUTE = "kda"``: the same recurrence with the gate broadcast
over the key channels, ``kernels/gated_delta/fla.py``), counted as ``("gated_delta", "fla:kda")``; with
``GATED_DELTA_ROUTE = None`` it keeps fla's forward and names the torch backend for the gradients, which the
registry pairs by recomputation (``kernels/recompute.py``), counted as ``(op, "fla+torch_backward")``. The ops' fla
functions (``kernels/<op>/fla.py``) call :func:`run_fla`; fla itself is imported on their first call.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from collections.abc import Sequence

import torch

from hybrid_eval.kernels.backends import fla_autotune
from hybrid_eval.kernels.registry import SERVES, Backend, Verdict, needs_grad, paired

OPS = ("lightning", "gated_delta", "kda", "short_conv")  # the ops whose fla backward is known (fla_backward_ok)
FLA_TORCH_BACKWARD = paired("fla", "torch")  # "fla+torch_backward": the name in `calls` of fla forward + torch backward
GATED_DELTA_ROUTE: str | None = "kda"  # where #640 applies: fla's KDA kernels ("kda") or fla + torch backward (None)
TORCH_ADVICE = ": needs Triton >= 3.7.1 or tilelang; use the torch backward"  # the refusal's advice without a route
RECURRENT_MAX_T = 64  # fla's own layers switch to the fused recurrent kernel at or below 64 tokens


class FlaBackend(Backend):
    """Serves calls on CUDA tensors when fla is installed; forward only (torch backward) where #640 applies."""

    def __init__(self) -> None:
        super().__init__("fla")

    def verify(self, op: str | None, tensors: Sequence[torch.Tensor | None], grad: bool) -> Verdict:
        off_cuda = [t for t in tensors if t is not None and not t.is_cuda]
        if off_cuda:
            if all(t.is_cpu for t in off_cuda):
                return NEEDS_CUDA_GOT_CPU
            return needs_cuda(", ".join(sorted({t.device.type for t in off_cuda})))
        if not fla_available():
            return Verdict(
                False,
                "backend 'fla' needs flash-linear-attention, which is not installed: "
                "pip install 'hybrid-eval[gpu]' (or use backend='torch' or 'auto').",
            )
        if op is None or not grad:
            return SERVES
        device = next((t.device for t in tensors if t is not None), None)
        ok, reason = backward_ok_cached(op, (device.index or 0) if device is not None else 0)  # CUDA tensors carry it
        if ok:
            return Verdict(True, reason)
        if op == "gated_delta" and GATED_DELTA_ROUTE is not None:
            return Verdict(True, f"{reason.removesuffix(TORCH_ADVICE)}: gradients through fla's chunk_kda "
                                 "(the gate broadcast over K)", route=GATED_DELTA_ROUTE)
        return Verdict(True, reason, backward="torch")


def needs_cuda(devices: str) -> Verdict:
    """The refusal of tensors on ``devices`` (e.g. "cpu", "cpu, meta")."""
    return Verdict(False, f"backend 'fla' needs CUDA tensors; got {devices}. Use backend='torch' or 'auto'.")


NEEDS_CUDA_GOT_CPU = needs_cuda("cpu")  # built once: "auto" asks fla first on every call, CPU calls included
FLA = FlaBackend()


@functools.cache
def fla_available() -> bool:
    """Whether flash-linear-attention (``import fla``) can be imported; looked up once, without importing it."""
    return importlib.util.find_spec("fla") is not None


@functools.cache
def backward_ok_cached(op: str, device_index: int) -> tuple[bool, str]:
    """:func:`fla_backward_ok` once per op and device (it reads package versions and the device's name)."""
    return fla_backward_ok(op, device_index)


def _version_tuple(text: str) -> tuple[int, ...]:
    """'3.6.0+git1234' -> (3, 6, 0); enough to compare release numbers."""
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def fla_backward_ok(op: str = "gated_delta", device: torch.device | int | None = None) -> tuple[bool, str]:
    """Whether fla's backward pass for ``op`` can run here, and why not (docs/design.md §9, fla issue #640).

    flash-linear-attention 0.6.0 refuses the backward of its *gated* ``chunk_bwd_dqkwg`` kernel on Hopper
    (compute capability 9.x, H100/H200) with Triton >= 3.4 and < 3.7.1, because that Triton miscompiles it; it
    raises ``RuntimeError`` there unless tilelang is installed (fla then routes the kernel through its TileLang
    backend). Reading fla 0.6.0's source, that kernel is reached by ``chunk_gated_delta_rule`` (``op=
    "gated_delta"``) only: ``chunk_kda`` has its own backward kernels, ``chunk_simple_gla`` with a constant
    ``g_gamma`` (our ``lightning``) calls it with ``g=None``, which is not refused, and the causal conv has
    its own. Forward passes work everywhere. Checked on an H200 with Triton 3.6.0 and fla 0.6.0 (2026-11-27):
    ``chunk_gated_delta_rule``'s backward raised fla's #640 error, while ``chunk_kda`` and ``chunk_simple_gla``
    (``g_gamma``) ran their backward and matched our torch backend.

    The fla backend's verifier uses this to choose fla forward + torch backward when the answer is False.
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
    return False, (f"fla refuses gated backward on {name} (sm_{major}{minor}) with Triton {triton_version} "
                   f"(>= 3.4, < 3.7.1; fla issue #640){TORCH_ADVICE}")


def run_fla(chunk, recurrent, q, k, v, scale, initial_state, output_final_state, **inputs):
    """Call one of fla's op pairs on our layout: the fused recurrent kernel for short inputs without autograd
    (decoding; it has no backward), else the chunk kernel. `inputs` are the op's other tensors by fla's keyword
    (g, beta; g_gamma). Returns (o, final state in float32 or None)."""
    fla_autotune.apply()  # kernels.autotune: trim fla's configuration lists (fast) or keep them (full)
    tensors = (q, k, v, initial_state, *inputs.values())
    run = recurrent if q.shape[1] <= RECURRENT_MAX_T and not needs_grad(tensors) else chunk
    o, state = run(q, k, v, scale=scale, initial_state=initial_state, output_final_state=output_final_state, **inputs)
    return o, (state.float() if output_final_state else None)
