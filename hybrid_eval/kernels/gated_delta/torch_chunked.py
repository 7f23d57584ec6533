"""Gated delta rule in chunked, vectorised PyTorch: fast on CPU, runs on GPU, differentiable by autograd.

Same recurrence as ``reference.py``. The sequence is cut into chunks of C tokens; inside a chunk the delta
updates are folded into one lower-triangular solve (the WY / UT transform of DeltaNet, Yang et al. 2024, as in
fla's ``naive_chunk_gated_delta_rule`` and transformers' ``torch_chunk_gated_delta_rule``), and only the state
passes from chunk to chunk. With gamma_i = g_1 + ... + g_i the cumulative log decay inside a chunk:

    A[i, j] = beta_i (k_i . k_j) e^{gamma_i - gamma_j}   (j < i)
    u = (I + A)^{-1} (beta * v),   w = (I + A)^{-1} (beta * e^{gamma} * k)
    v_new = u - w S                                        # the part of each value the state does not predict
    o = scale * [ (e^{gamma} q) S + ((q k^T) o e^{gamma_i - gamma_j})_{j <= i} v_new ]
    S' = e^{gamma_C} S + (e^{gamma_C - gamma} k)^T v_new

Every exponent is <= 0 (pairwise differences are masked before ``exp``), so no gate, however negative,
overflows; exponents below ``EXP_FLOOR`` are flushed to exact zeros, which keeps subnormal floats (about 100x
slower on x86) out of the products. Chunks are 64 tokens; T <= 128 runs as one chunk of exactly T tokens (no
padding), T = 1 (decoding) as one recurrent step. The chunk layout, masks and the chunk-to-chunk scan are
shared with KDA and lightning (``kernels/common/``). Compared with transformers' torch_chunk_gated_delta_rule:

- chunk-major layout (N, B*H, C, D): one float32 copy per input, and the chunk loop's slices are contiguous;
- u from the decayed triangular system, w from the decay-free one: A = E A0 E^{-1} with E = Diag(e^gamma) and
  A0 = beta k k^T, so w = e^gamma o (I + A0)^{-1} (beta k); the decayed solve for w builds long products of
  decays, and with fast-decaying gates those became subnormal floats and cost ~2x (CPU);
- per-chunk slices come from one ``unbind`` and outputs go out through one ``stack``: transformers indexes
  full tensors per chunk (``new_values[:, :, i]``, ...) and writes ``core_attn_out[:, :, i] = ...`` in place,
  so autograd zero-fills a full-size gradient for every index in the backward pass (``select_backward``,
  ``CopySlices``), quadratic in the number of chunks; that dominates its forward+backward time.
The forward does the same arithmetic as transformers' (it is the same algorithm), so its forward gains are
modest; the forward+backward gains grow with the number of chunks. ``reports/kernels/README.md`` has numbers.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels.common.chunk import (
    CHUNK,
    causal_decay,
    chunk_layout,
    floored_exp,
    from_chunks,
    solve_unit_lower,
    to_chunks,
)
from hybrid_eval.kernels.common.delta_rule import delta_chunk_scan, delta_rule_step


def gated_delta_chunked(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, HV, V)
    g: torch.Tensor,  # (B, T, HV) log decay <= 0
    beta: torch.Tensor,  # (B, T, HV)
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, HV, K, V) float32
    output_final_state: bool = False,
    chunk_size: int = CHUNK,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[3]
    dtype = v.dtype
    if HV != H:  # grouped value heads, as transformers and fla: q/k head h serves value heads h*G .. h*G+G-1
        q, k = q.repeat_interleave(HV // H, dim=2), k.repeat_interleave(HV // H, dim=2)
    if T == 1:  # decoding: one recurrent step is cheaper than the chunk machinery
        q, k, v, g, beta = (x[:, 0].float() for x in (q, k, v, g, beta))
        o, state = delta_rule_step(q, k, v, g[..., None, None], beta, scale, initial_state)
        return o[:, None].to(dtype), (state if output_final_state else None)
    C, N = chunk_layout(T, chunk_size)
    q, k, v = (to_chunks(x, C, N) for x in (q, k, v))  # (N, BH, C, D)
    g, beta = (to_chunks(x, C, N) for x in (g, beta))  # (N, BH, C)
    gamma = g.cumsum(-1)  # (N, BH, C) cumulative log decay inside each chunk
    decay = causal_decay(gamma)  # (N, BH, C, C)
    beta = beta[..., None]  # (N, BH, C, 1)
    k_beta = k * beta
    # A = A0 o decay with A0 = beta k k^T; built transposed, so the solver gets them column-major without a copy
    a0_t = torch.matmul(k, k_beta.transpose(-1, -2))  # A0^T
    a = (a0_t * decay.transpose(-1, -2)).transpose(-1, -2)
    u = solve_unit_lower(a, v * beta)  # (I + A)^{-1} beta v: (N, BH, C, V)
    # w = (I + A)^{-1} (beta e^gamma k) = e^gamma o (I + A0)^{-1} (beta k), since A = E A0 E^{-1}, E = Diag(e^gamma):
    # the decay-free solve cannot build long products of decays (subnormal floats with fast-decaying gates)
    w = solve_unit_lower(a0_t.transpose(-1, -2), k_beta) * floored_exp(gamma)[..., None]  # (N, BH, C, K)
    a_qk = torch.matmul(q, k.transpose(-1, -2)) * (decay * scale)  # (N, BH, C, C), zero above diagonal
    qg = q * (floored_exp(gamma) * scale)[..., None]
    kd = k * floored_exp(gamma[..., -1:] - gamma)[..., None]
    chunk_decay = floored_exp(gamma[..., -1])[..., None, None]  # (N, BH, 1, 1)
    if initial_state is None:
        state = q.new_zeros(B * HV, K, V)
    else:
        state = initial_state.reshape(B * HV, K, V).to(torch.float32)
    o, state = delta_chunk_scan(qg, w, u, kd, a_qk, chunk_decay, state)
    o = from_chunks(o, B, HV, T, dtype)
    return o, (state.reshape(B, HV, K, V) if output_final_state else None)
