"""Gated delta rule through flash-linear-attention 0.6.0's Triton kernels (CUDA only; fla imported on first call).

``fla.ops.gated_delta_rule.chunk_gated_delta_rule`` for training and prefill, and
``fused_recurrent_gated_delta_rule`` for short inputs without autograd (decoding; it has no backward), chosen by
``kernels.backends.fla.run_fla``. Both take our layout ([B, T, H, K] q/k, [B, T, HV, V] v with HV a multiple of
H, log-space g and beta of [B, T, HV], initial state [B, HV, K, V]) and the same recurrence.

On Hopper with Triton >= 3.4, < 3.7.1, fla refuses the backward of ``chunk_gated_delta_rule`` (fla issue #640; see
``kernels.backends.fla.fla_backward_ok``). There a call that needs gradients goes through fla's KDA kernels
instead (:func:`gated_delta_as_kda`): the gated delta rule *is* KDA with a decay that is the same for every key
channel, so broadcasting the per-head log gate ``g`` over K gives the identical recurrence, and ``chunk_kda``'s
backward has its own kernels, which Triton 3.6 compiles correctly. Autograd sums the broadcast gate's gradient
back over K.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels.backends.fla import run_fla


def gated_delta_fla(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, HV, V)
    g: torch.Tensor,  # (B, T, HV)
    beta: torch.Tensor,  # (B, T, HV)
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, HV, K, V) float32
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule, fused_recurrent_gated_delta_rule

    return run_fla(chunk_gated_delta_rule, fused_recurrent_gated_delta_rule, q, k, v, scale, initial_state,
                   output_final_state, g=g, beta=beta)


def gated_delta_as_kda(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,  # (B, T, HV): one log decay per value head
    beta: torch.Tensor,
    scale: float,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gated delta rule computed by fla's KDA kernels (``chunk_kda``): ``g`` broadcast over the K key channels."""
    from fla.ops.kda import chunk_kda, fused_recurrent_kda

    per_channel = g.unsqueeze(-1).expand(*g.shape, q.shape[-1]).contiguous()
    return run_fla(chunk_kda, fused_recurrent_kda, q, k, v, scale, initial_state, output_final_state,
                   g=per_channel, beta=beta)
