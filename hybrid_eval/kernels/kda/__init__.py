"""Kimi Delta Attention (KDA; Kimi Linear's linear layer): one API over three backends.

    S_t = (I - beta_t k_t k_t^T) Diag(e^{g_t}) S_{t-1} + beta_t k_t v_t^T ;   o_t = scale * S_t^T q_t

``reference.py`` is the specification (backend ``"reference"``), ``torch_chunked.py`` the vectorised PyTorch form
(backend ``"torch"``), ``fla.py`` flash-linear-attention's kernels (backend ``"fla"``, CUDA); this file declares
them to the backend registry (``kernels/backend.py``), which picks one per call.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels import backend as _backend
from hybrid_eval.kernels.checks import check_qkv, check_scale, check_state, check_tensor
from hybrid_eval.kernels.kda.fla import kda_fla
from hybrid_eval.kernels.kda.reference import kda_reference
from hybrid_eval.kernels.kda.torch_chunked import kda_chunked

__all__ = ["kda", "kda_chunked", "kda_fla", "kda_reference"]

_backend.registry.implement("kda", {"reference": kda_reference, "torch": kda_chunked, "fla": kda_fla})


def kda(
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
    """Kimi Delta Attention over a sequence; returns ``(o, final_state)``.

    Per value head, state S in R^{K x V}, per-channel log decay g_t in R^K:

        S_t = (I - beta_t k_t k_t^T) Diag(e^{g_t}) S_{t-1} + beta_t k_t v_t^T
        o_t = scale * S_t^T q_t

    docs/design.md §5's formula; transformers' Kimi Linear (``recurrent_kimi_delta_attention``,
    ``chunk_kimi_delta_attention``) and fla's ``naive_recurrent_kda`` compute the same (decay the state's key
    channels, then the delta update, then the read), which the tests check.

    Args:
        q, k: (B, T, H, K), already L2-normalised by the caller (Kimi Linear does it before the op).
        v: (B, T, HV, V), HV a multiple of H (grouped value heads, as fla's ``chunk_kda``).
        g: (B, T, HV, K) per-channel log decay, <= 0 (not checked).
        beta: (B, T, HV).
        scale: default K ** -0.5.
        initial_state: (B, HV, K, V) float32 or None.
        output_final_state: return the final state (float32), else None.
        backend: "auto" | "reference" | "torch" | "fla", or any registered backend (``kernels.backend``).

    Returns:
        o: (B, T, HV, V) in v's dtype; final_state: (B, HV, K, V) float32 or None.
    """
    op = "kda"
    check_qkv(op, q, k, v, grouped=True)
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[3]
    check_tensor(op, "g", g, (B, T, HV, K), q.device)
    check_tensor(op, "beta", beta, (B, T, HV), q.device)
    check_state(op, initial_state, (B, HV, K, V), q.device)
    scale = check_scale(op, scale, K)
    run = _backend.dispatch(op, backend, (q, k, v, g, beta, initial_state))
    return run(q, k, v, g, beta, scale, initial_state, output_final_state)
