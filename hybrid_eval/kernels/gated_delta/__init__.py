"""Gated delta rule (Gated DeltaNet; Qwen3-Next's linear layer): one API over three backends.

    S_t = e^{g_t} (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T ;   o_t = scale * S_t^T q_t

``reference.py`` is the specification (a float32 token loop, backend ``"reference"``), ``torch_chunked.py`` the
vectorised PyTorch form (backend ``"torch"``), ``fla.py`` flash-linear-attention's kernels (backend ``"fla"``,
CUDA; on Hopper with Triton 3.4-3.7.0, training goes through fla's KDA kernels, route ``"fla:kda"``); this file
declares them to the backend registry (``kernels/backend.py``), which picks one per call.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels import backend as _backend
from hybrid_eval.kernels.checks import check_qkv, check_scale, check_state, check_tensor
from hybrid_eval.kernels.gated_delta.fla import gated_delta_as_kda, gated_delta_fla
from hybrid_eval.kernels.gated_delta.reference import gated_delta_reference
from hybrid_eval.kernels.gated_delta.torch_chunked import gated_delta_chunked

__all__ = ["gated_delta", "gated_delta_as_kda", "gated_delta_chunked", "gated_delta_fla", "gated_delta_reference"]

_backend.registry.implement(
    "gated_delta", {"reference": gated_delta_reference, "torch": gated_delta_chunked, "fla": gated_delta_fla,
                    "fla:kda": gated_delta_as_kda}
)


def gated_delta(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Gated delta rule over a sequence; returns ``(o, final_state)``.

    Per value head, with state S in R^{K x V}: decay, delta update, read (transformers'
    ``torch_recurrent_gated_delta_rule`` order, with q/k already L2-normalised by the caller):

        S_t = e^{g_t} (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T
        o_t = scale * S_t^T q_t

    Args:
        q, k: (B, T, H, K). Not normalised here: Qwen3-Next L2-normalises them before the op.
        v: (B, T, HV, V), HV a multiple of H; q/k head h serves value heads h*HV/H .. (h+1)*HV/H - 1
            (``repeat_interleave``, as transformers and fla).
        g: (B, T, HV) log decay, <= 0 (not checked).
        beta: (B, T, HV) write strength, usually in (0, 1) (up to 2 allows negative eigenvalues).
        scale: output scale, default K ** -0.5.
        initial_state: (B, HV, K, V) float32, or None for zeros.
        output_final_state: return the state after the last token (float32), else None.
        backend: "auto" | "reference" | "torch" | "fla", or any registered backend (``kernels.backend``).

    Returns:
        o: (B, T, HV, V) in v's dtype; final_state: (B, HV, K, V) float32 or None.
    """
    op = "gated_delta"
    check_qkv(op, q, k, v, grouped=True)
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[3]
    check_tensor(op, "g", g, (B, T, HV), q.device)
    check_tensor(op, "beta", beta, (B, T, HV), q.device)
    check_state(op, initial_state, (B, HV, K, V), q.device)
    scale = check_scale(op, scale, K)
    run = _backend.dispatch(op, backend, (q, k, v, g, beta, initial_state))
    return run(q, k, v, g, beta, scale, initial_state, output_final_state)
