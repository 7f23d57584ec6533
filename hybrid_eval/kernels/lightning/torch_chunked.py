"""Lightning attention in chunked, vectorised PyTorch: same recurrence as ``reference.py``, differentiable.

The simple-GLA chunk form (Yang et al. 2024; fla's ``chunk_simple_gla`` with ``g_gamma = -lambda``): with a
constant per-head decay there is no delta rule, so inside a chunk the output is a decayed causal
``(q k^T) v``, and the only sequential part is the state passed between chunks, a scaled sum:

    o = scale * [ (e^{gamma} q) S + ((q k^T) o e^{gamma_i - gamma_j})_{j <= i} v ]
    S' = e^{gamma_C} S + (e^{gamma_C - gamma} k)^T v

with gamma_i = -lambda_h * i inside the chunk. Padding tokens get log decay 0 (not -lambda_h), so a length
that is not a multiple of the chunk leaves the final state exactly as the recurrence does. The per-chunk
``(e^{gamma_C - gamma} k)^T v`` are one batched product; the loop over chunks is one multiply-add per chunk.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels.common.chunk import CHUNK, causal_decay, chunk_layout, floored_exp, from_chunks, to_chunks


def lightning_chunked(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, H, V)
    decay: torch.Tensor,  # (H,) lambda_h >= 0
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, H, K, V) float32
    output_final_state: bool = False,
    chunk_size: int = CHUNK,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, H, K = q.shape
    V = v.shape[3]
    dtype = v.dtype
    C, N = chunk_layout(T, chunk_size)
    q, k, v = (to_chunks(x, C, N) for x in (q, k, v))  # (N, BH, C, D)
    g = to_chunks((-decay.float()).expand(B, T, H), C, N)  # (N, BH, C): -lambda_h per token, 0 on padding
    gamma = g.cumsum(-1)
    a_qk = torch.matmul(q, k.transpose(-1, -2)) * (causal_decay(gamma) * scale)  # (N, BH, C, C)
    qg = q * (floored_exp(gamma) * scale)[..., None]
    kd = k * floored_exp(gamma[..., -1:] - gamma)[..., None]
    chunk_decay = floored_exp(gamma[..., -1])[..., None, None]  # (N, BH, 1, 1)
    writes = torch.matmul(kd.transpose(-1, -2), v)  # (N, BH, K, V): what each chunk adds to the state
    if initial_state is None:
        state = q.new_zeros(B * H, K, V)
    else:
        state = initial_state.reshape(B * H, K, V).to(torch.float32)
    starts = []
    for write_n, d_n in zip(writes, chunk_decay):
        starts.append(state)
        state = state * d_n + write_n
    o = torch.matmul(qg, torch.stack(starts)) + torch.matmul(a_qk, v)  # (N, BH, C, V)
    o = from_chunks(o, B, H, T, dtype)
    return o, (state.reshape(B, H, K, V) if output_final_state else None)
