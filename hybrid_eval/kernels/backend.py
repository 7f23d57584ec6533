"""This package's backend registry: the three backends, the order ``"auto"`` tries them, the run default.

Every public op calls :func:`dispatch` with all its tensors on every call, so the backend is chosen per call
(``kernels/registry.py`` has the mechanism, ``kernels/backends/`` the backends):

- ``"reference"``: the token-by-token float32 loop, the specification; never picked by ``"auto"``;
- ``"torch"``: the chunked, vectorised PyTorch form (CPU and GPU, differentiable);
- ``"fla"``: flash-linear-attention's Triton kernels (CUDA tensors, fla installed);
- ``"auto"``: the run's default if :func:`set_backend` named one, else the first backend of
  ``registry.auto_order`` that serves the call; as registered below, ``"fla"`` when the tensors are on CUDA and
  fla is installed, else ``"torch"``.

:data:`BACKENDS` is read from the registry on each access (``"auto"`` and the registered names), so a backend
registered later is accepted everywhere that checks names. Every call is counted in :data:`calls`, keyed
``(op, backend)``, so a test can prove by counting that a model's forward ran our op with the backend it asked
for. fla's names (:func:`fla_available`, :func:`fla_backward_ok`, :func:`run_fla`, ...) are re-exported here.
"""

from __future__ import annotations

from hybrid_eval.kernels.backends.fla import (
    FLA,
    FLA_TORCH_BACKWARD,
    RECURRENT_MAX_T,
    fla_available,
    fla_backward_ok,
    run_fla,
)
from hybrid_eval.kernels.backends.reference import REFERENCE
from hybrid_eval.kernels.backends.torch_chunked import TORCH
from hybrid_eval.kernels.registry import Registry, needs_grad

registry = Registry()
registry.register(REFERENCE)
registry.register(TORCH, auto=0)
registry.register(FLA, auto=0)  # before torch: "auto" tries fla, then torch

calls = registry.calls  # (op, backend) -> number of calls, e.g. calls[("gated_delta", "torch")]


def calls_since(before: dict) -> dict[str, int]:
    """Calls of each op per backend since `before` (a copy of `calls`), keyed "op:backend", e.g. 'kda:fla'."""
    return {f"{op}:{backend}": n - before.get((op, backend), 0)
            for (op, backend), n in sorted(calls.items()) if n > before.get((op, backend), 0)}
dispatch = registry.dispatch
resolve = registry.resolve


def set_backend(name: str) -> str:
    """Set the backend that ``backend="auto"`` resolves to for the rest of the run; return the previous one.

    ``set_backend("auto")`` restores the per-call choice. The run config's ``kernels.backend`` calls this.
    """
    return registry.set_default(name)


def get_backend() -> str:
    """The run's default backend (``"auto"`` unless :func:`set_backend` changed it)."""
    return registry.get_default()


def __getattr__(name: str):
    if name == "BACKENDS":  # live: ("auto", "reference", "torch", "fla", and any backend registered since)
        return registry.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "FLA_TORCH_BACKWARD",
    "RECURRENT_MAX_T",
    "calls",
    "dispatch",
    "fla_available",
    "fla_backward_ok",
    "get_backend",
    "needs_grad",
    "registry",
    "resolve",
    "run_fla",
    "set_backend",
]
