"""The sequential parts shared by the delta rules' chunked torch forms (gated delta rule, KDA).

After the intra-chunk WY / UT transform (DeltaNet, Yang et al. 2024; fla's ``chunk_gated_delta_rule`` and
``chunk_kda`` follow the same scheme), only the state passes from chunk to chunk: ``delta_chunk_scan`` is that
loop, and ``delta_rule_step`` is one token of the recurrence (decoding), which is cheaper than the chunk
machinery for T = 1. The decay is a scalar per head (gated delta) or per key channel (KDA), broadcast the same way.
"""

from __future__ import annotations

import torch


def delta_chunk_scan(
    qg: torch.Tensor,  # (N, BH, C, K) scale * e^{gamma} q: reads the state at the chunk start
    w: torch.Tensor,  # (N, BH, C, K)
    u: torch.Tensor,  # (N, BH, C, V)
    kd: torch.Tensor,  # (N, BH, C, K) e^{gamma_C - gamma} k: writes into the state at the chunk end
    a_qk: torch.Tensor,  # (N, BH, C, C) scale * decayed q k^T, lower triangle with diagonal
    chunk_decay: torch.Tensor,  # (N, BH, 1, 1) or (N, BH, K, 1): e^{gamma_C}
    state: torch.Tensor,  # (BH, K, V) float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """The chunk-to-chunk scan shared by the delta rules (gated delta, KDA). Returns (o (N, BH, C, V), S_N).

    Iterating over a tensor unbinds it once and the outputs are stacked once, so the backward pass has one
    gradient copy per tensor, not a full-size zero-filled gradient per chunk. (A hand-written backward for
    this loop measured no faster on CPU than autograd's: the time is in the products, not the bookkeeping.)
    """
    outputs = []
    for q_n, w_n, u_n, kd_n, a_n, d_n in zip(qg, w, u, kd, a_qk, chunk_decay):
        v_new = torch.baddbmm(u_n, w_n, state, alpha=-1.0)  # u - w S: what the state does not predict
        outputs.append(torch.baddbmm(torch.bmm(q_n, state), a_n, v_new))  # qg S + a_qk v_new: (BH, C, V)
        state = torch.baddbmm(state * d_n, kd_n.transpose(1, 2), v_new)  # (BH, K, V)
    return torch.stack(outputs), state


def delta_rule_step(
    q: torch.Tensor,  # (B, HV, K) float32, heads already repeated to HV
    k: torch.Tensor,  # (B, HV, K)
    v: torch.Tensor,  # (B, HV, V)
    log_decay: torch.Tensor,  # (B, HV, 1, 1) scalar per head, or (B, HV, K, 1) per key channel
    beta: torch.Tensor,  # (B, HV)
    scale: float,
    state: torch.Tensor | None,  # (B, HV, K, V) float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token of a delta rule (decoding): decay, delta update, read. Returns (o (B, HV, V), new state)."""
    B, HV, K = k.shape
    V = v.shape[-1]
    if state is None:
        state = k.new_zeros(B, HV, K, V)
    S = (state.float() * log_decay.exp()).reshape(B * HV, K, V)  # decayed state
    k_ = k.reshape(B * HV, 1, K)
    delta = (v.reshape(B * HV, 1, V) - torch.bmm(k_, S)) * beta.reshape(B * HV, 1, 1)  # (BH, 1, V)
    S = torch.baddbmm(S, k_.transpose(1, 2), delta)  # S + k delta^T
    o = torch.bmm(q.reshape(B * HV, 1, K) * scale, S)  # (BH, 1, V)
    return o.reshape(B, HV, V), S.reshape(B, HV, K, V)
