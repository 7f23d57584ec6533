"""Lightning attention (MiniMax-01's linear layer): one API over three backends.

    S_t = e^{-lambda_h} S_{t-1} + k_t v_t^T ;   o_t = scale * S_t^T q_t

``reference.py`` is the specification (backend ``"reference"``), ``torch_chunked.py`` the vectorised PyTorch form
(backend ``"torch"``), ``fla.py`` fla's ``chunk_simple_gla`` (backend ``"fla"``, CUDA); this file declares them to
the backend registry (``kernels/backend.py``), which picks one per call.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels import backend as _backend
from hybrid_eval.kernels.checks import check_qkv, check_scale, check_state
from hybrid_eval.kernels.lightning.fla import lightning_fla
from hybrid_eval.kernels.lightning.reference import lightning_reference
from hybrid_eval.kernels.lightning.torch_chunked import lightning_chunked

__all__ = ["lightning", "lightning_chunked", "lightning_fla", "lightning_reference"]

_backend.registry.implement(
    "lightning", {"reference": lightning_reference, "torch": lightning_chunked, "fla": lightning_fla}
)


def lightning(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    decay: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Linear attention with a constant per-head exponential decay; returns ``(o, final_state)``.

        S_t = e^{-lambda_h} S_{t-1} + k_t v_t^T
        o_t = scale * S_t^T q_t

    MiniMax multiplies q . k with no 1/sqrt(K), so the MiniMax caller passes ``scale=1.0``; the default here
    is K ** -0.5 like the other ops. transformers' MiniMax computes lambda_h = 2^{-8(h+1)/H} *
    (1 - l/(L-1+1e-5) + 1e-5) for layer l of L (its ``slope_rate``).

    Args:
        q, k: (B, T, H, K); v: (B, T, H, V).
        decay: (H,) lambda_h >= 0 (checked on CPU tensors only, to avoid a GPU sync per call).
        scale: default K ** -0.5; MiniMax: 1.0.
        initial_state: (B, H, K, V) float32 or None.
        output_final_state: return the final state (float32), else None.
        backend: "auto" | "reference" | "torch" | "fla", or any registered backend (``kernels.backend``).

    Returns:
        o: (B, T, H, V) in v's dtype; final_state: (B, H, K, V) float32 or None.
    """
    op = "lightning"
    check_qkv(op, q, k, v, grouped=False)
    B, T, H, K = q.shape
    V = v.shape[3]
    if not isinstance(decay, torch.Tensor) or tuple(decay.shape) != (H,) or not decay.is_floating_point():
        got = list(decay.shape) if isinstance(decay, torch.Tensor) else type(decay).__name__
        raise ValueError(
            f"{op}: decay must be a floating-point tensor of shape [{H}] (one lambda per head); got {got}."
        )
    if not decay.is_cuda and bool((decay < 0).any()):
        raise ValueError(f"{op}: decay must be >= 0 (the state is multiplied by e^-decay); got {decay.tolist()}.")
    check_state(op, initial_state, (B, H, K, V), q.device)
    scale = check_scale(op, scale, K)
    run = _backend.dispatch(op, backend, (q, k, v, initial_state))  # decay: a constant, moved to q's device
    return run(q, k, v, decay.to(q.device), scale, initial_state, output_final_state)
