"""Kimi Delta Attention (KDA), token by token in float32: the specification the other backends are tested against.

Per value head, state S in R^{K x V}, per-channel log decay g_t in R^K (Kimi Linear, Moonshot AI 2025):

    S_t = (I - beta_t k_t k_t^T) Diag(e^{g_t}) S_{t-1} + beta_t k_t v_t^T
    o_t = scale * S_t^T q_t

This is docs/design.md §5's formula, and it is what transformers' Kimi Linear computes
(``recurrent_kimi_delta_attention`` and ``chunk_kimi_delta_attention`` in ``models/kimi_linear``, and fla's
``naive_recurrent_kda``): decay each key channel of the state first, then the delta update reads ``k_t^T S``
from the decayed state, then the output reads the new state. The tests check this against transformers.
"""

from __future__ import annotations

import torch


def kda_reference(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, HV, V), HV a multiple of H
    g: torch.Tensor,  # (B, T, HV, K), per-channel log decay <= 0
    beta: torch.Tensor,  # (B, T, HV)
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, HV, K, V) float32
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[3]
    dtype = v.dtype
    if HV != H:  # each q/k head serves HV // H consecutive value heads
        q, k = q.repeat_interleave(HV // H, dim=2), k.repeat_interleave(HV // H, dim=2)
    q, k, v, g, beta = (x.float() for x in (q, k, v, g, beta))
    S = q.new_zeros(B, HV, K, V) if initial_state is None else initial_state.float()
    outputs = []
    for t in range(T):
        q_t, k_t, v_t = q[:, t], k[:, t], v[:, t]  # (B, HV, K), (B, HV, K), (B, HV, V)
        S = S * g[:, t, :, :, None].exp()  # Diag(e^{g_t}) S: decays each key channel (row of S)
        kv_mem = torch.einsum("bhk,bhkv->bhv", k_t, S)
        delta = (v_t - kv_mem) * beta[:, t, :, None]  # (B, HV, V)
        S = S + torch.einsum("bhk,bhv->bhkv", k_t, delta)
        outputs.append(torch.einsum("bhk,bhkv->bhv", q_t * scale, S))
    o = torch.stack(outputs, dim=1) if T else v.new_zeros(B, 0, HV, V)  # (B, T, HV, V)
    return o.to(dtype), (S if output_final_state else None)
