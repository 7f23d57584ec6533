"""KDA through flash-linear-attention 0.6.0's Triton kernels (CUDA only; fla imported on first call).

``fla.ops.kda.chunk_kda`` for training and prefill, ``fused_recurrent_kda`` for short inputs without autograd
(decoding), chosen by ``kernels.backends.fla.run_fla``. Same layout and recurrence as ours: g is the per-channel
log decay [B, T, HV, K], already computed (we do not use fla's ``use_gate_in_kernel``), q/k not normalised inside
(``use_qk_l2norm_in_kernel`` off: the caller normalises, as Kimi Linear does before the op). fla requires a
float32 initial state and K <= 256.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels.backends.fla import run_fla


def kda_fla(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, HV, V)
    g: torch.Tensor,  # (B, T, HV, K)
    beta: torch.Tensor,  # (B, T, HV)
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, HV, K, V) float32
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    from fla.ops.kda import chunk_kda, fused_recurrent_kda

    return run_fla(chunk_kda, fused_recurrent_kda, q, k, v, scale, initial_state, output_final_state, g=g, beta=beta)
