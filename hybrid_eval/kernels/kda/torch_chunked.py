"""KDA in chunked, vectorised PyTorch: same recurrence as ``reference.py``, differentiable by autograd.

The chunk form is the gated delta rule's (see ``kernels/gated_delta/torch_chunked.py``; the chunk layout and
the chunk-to-chunk scan are shared, in ``kernels/common/``) with a decay per key channel: with
gamma_i = g_1 + ... + g_i in R^K inside a chunk,

    A[i, j]    = beta_i sum_d k_id k_jd e^{gamma_id - gamma_jd}   (j < i)
    a_qk[i, j] = scale * sum_d q_id k_jd e^{gamma_id - gamma_jd}   (j <= i)
    u = (I + A)^{-1} (beta * v),   w = (I + A)^{-1} (beta * e^{gamma} o k)
    S' = Diag(e^{gamma_C}) S + (e^{gamma_C - gamma} o k)^T (u - w S)

Numerical stability. The decay differs per channel, so A is no longer ``(k k^T) o decay``, and the shortcut
``(k e^{gamma}) (k e^{-gamma})^T`` overflows float32 once a chunk's cumulative gate passes -88 (one token at
g = -20 does it in five steps). ``decayed_products`` picks, from the data, the cheapest exact form:
- every channel of every chunk decays by less than e^-60: the shortcut, referenced to the chunk's first token
  (factors within e^{+-60}), one matmul per chunk. This is the common case (log-sigmoid-like gates);
- else sub-blocks of 16 tokens, as fla's kernels do: pairs across sub-blocks factor through the start r of the
  row's sub-block, e^{gamma_i - gamma_r} e^{gamma_r - gamma_j}, both factors <= 1 (batched matmuls); pairs
  inside a sub-block use the same shortcut if the sub-block spans less than e^-60, else their exact
  differences gamma_i - gamma_j (an elementwise (16, 16, K) product, the slow path for gates near -20).
No exponent that can overflow is taken; exponents below -30 are flushed to 0 (``EXP_FLOOR``). Chunks stay at
64 tokens, so the sequential steps (and state reads) are as few as for the gated delta rule.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels.common.chunk import (
    CHUNK,
    EXP_FLOOR,
    chunk_layout,
    floored_exp,
    from_chunks,
    solve_unit_lower,
    to_chunks,
)
from hybrid_eval.kernels.common.delta_rule import delta_chunk_scan, delta_rule_step

SUB_BLOCK = 16
# A block of tokens whose cumulative gate spans at least -FACTOR_SPAN in every channel can use the factored
# form (a e^{gamma - gamma_r}) (b e^{gamma_r - gamma})^T: factors stay within e^{+-60}, far from float32's
# overflow (e^88) and subnormal (e^-87) limits. Blocks that decay faster take the exact pairwise form.
FACTOR_SPAN = 60.0


def _mask(C: int, strict: bool, device: torch.device) -> torch.Tensor:
    """(C, C) True where j > i (``strict``: j >= i), i.e. the entries to zero."""
    return torch.ones(C, C, dtype=torch.bool, device=device).triu(0 if strict else 1)


def _factored(a: torch.Tensor, b: torch.Tensor, g: torch.Tensor, strict: bool) -> torch.Tensor:
    """sum_d a_id b_jd e^{g_id - g_jd} via one matmul, referenced to the first token; needs a span >= -60."""
    ref = g[..., :1, :]
    m = torch.matmul(a * (g - ref).exp(), (b * (ref - g).exp()).transpose(-1, -2))
    return m.masked_fill(_mask(g.shape[-2], strict, g.device), 0.0)


def _pairwise(a: torch.Tensor, b: torch.Tensor, g: torch.Tensor, strict: bool) -> torch.Tensor:
    """The same sum with every exact difference g_id - g_jd formed: (..., s, s, K) work, safe for any gate."""
    diff = g[..., :, None, :] - g[..., None, :, :]
    drop = _mask(g.shape[-2], strict, g.device)[..., None] | (diff < EXP_FLOOR)
    return (a[..., :, None, :] * b[..., None, :, :] * diff.masked_fill(drop, float("-inf")).exp()).sum(-1)


def _spans_ok(g: torch.Tensor) -> bool:
    """Whether every block of ``g`` (..., s, K) decays by less than FACTOR_SPAN from its first token."""
    return bool((g[..., -1, :] - g[..., 0, :]).min() >= -FACTOR_SPAN)


def decayed_products(a: torch.Tensor, b: torch.Tensor, gamma: torch.Tensor, strict: bool) -> torch.Tensor:
    """M[i, j] = sum_d a_id b_jd e^{gamma_id - gamma_jd} for j < i (``strict``) or j <= i, else 0.

    a, b, gamma: (..., C, K), gamma non-increasing along C. Returns (..., C, C). Three forms, by how fast the
    gates decay (checked on the data, one host sync):
    - whole chunks within FACTOR_SPAN: one factored matmul per chunk (mild gates, the common case);
    - else sub-blocks of SUB_BLOCK tokens: pairs across sub-blocks factor through the start r of the row's
      sub-block, e^{gamma_i - gamma_r} e^{gamma_r - gamma_j}, both <= 1 (a matmul); pairs inside a sub-block
      are factored if its span allows, else formed exactly pairwise.
    No exponent that could overflow is ever taken.
    """
    *lead, C, K = a.shape
    if _spans_ok(gamma):
        return _factored(a, b, gamma, strict)
    s = SUB_BLOCK if C % SUB_BLOCK == 0 else C  # sub-block length (one block for odd single chunks)
    nb = C // s
    a_, b_, g_ = (x.reshape(*lead, nb, s, K) for x in (a, b, gamma))  # (..., nb, s, K)
    inside = _factored(a_, b_, g_, strict) if _spans_ok(g_) else _pairwise(a_, b_, g_, strict)  # (..., nb, s, s)
    if nb == 1:
        return inside.reshape(*lead, C, C)
    # across sub-blocks: factor through gamma at the first token r of the row's sub-block
    g_ref = g_[..., :1, :]  # (..., nb, 1, K)
    left = a_ * floored_exp(g_ - g_ref)  # (..., nb, s, K): e^{gamma_i - gamma_r}, i >= r
    expo = g_ref - gamma[..., None, :, :]  # (..., nb, C, K): gamma_r - gamma_j
    earlier = torch.arange(C, device=a.device)[None, :] < (torch.arange(nb, device=a.device) * s)[:, None]
    expo = expo.masked_fill(~earlier[..., None] | (expo < EXP_FLOOR), float("-inf"))  # keep j < r only
    right = b[..., None, :, :] * expo.exp()  # (..., nb, C, K)
    across = torch.matmul(left, right.transpose(-1, -2)).reshape(*lead, C, C)  # zero for j >= r
    eye = torch.eye(nb, dtype=a.dtype, device=a.device)
    block_diagonal = (inside[..., :, :, None, :] * eye[:, None, :, None]).reshape(*lead, C, C)
    return across + block_diagonal


def kda_chunked(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, HV, V)
    g: torch.Tensor,  # (B, T, HV, K) per-channel log decay <= 0
    beta: torch.Tensor,  # (B, T, HV)
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, HV, K, V) float32
    output_final_state: bool = False,
    chunk_size: int = CHUNK,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[3]
    dtype = v.dtype
    if HV != H:  # grouped value heads, as fla's chunk_kda
        q, k = q.repeat_interleave(HV // H, dim=2), k.repeat_interleave(HV // H, dim=2)
    if T == 1:  # decoding: one recurrent step
        q, k, v, g, beta = (x[:, 0].float() for x in (q, k, v, g, beta))
        o, state = delta_rule_step(q, k, v, g[..., None], beta, scale, initial_state)
        return o[:, None].to(dtype), (state if output_final_state else None)
    C, N = chunk_layout(T, chunk_size)
    q, k, v, g = (to_chunks(x, C, N) for x in (q, k, v, g))  # (N, BH, C, D)
    beta = to_chunks(beta, C, N)  # (N, BH, C)
    gamma = g.cumsum(-2)  # (N, BH, C, K) cumulative per-channel log decay inside each chunk
    k_beta = k * beta[..., None]
    a = decayed_products(k_beta, k, gamma, strict=True)  # (N, BH, C, C) strictly lower
    rhs = torch.cat([v * beta[..., None], k_beta * floored_exp(gamma)], dim=-1)  # (N, BH, C, V+K)
    u, w = solve_unit_lower(a, rhs).split([V, K], dim=-1)  # (I + A)^{-1} [beta v, beta e^gamma k]
    a_qk = decayed_products(q, k, gamma, strict=False) * scale  # (N, BH, C, C)
    qg = q * floored_exp(gamma) * scale
    kd = k * floored_exp(gamma[..., -1:, :] - gamma)
    chunk_decay = floored_exp(gamma[..., -1, :])[..., None]  # (N, BH, K, 1)
    if initial_state is None:
        state = q.new_zeros(B * HV, K, V)
    else:
        state = initial_state.reshape(B * HV, K, V).to(torch.float32)
    o, state = delta_chunk_scan(qg, w, u, kd, a_qk, chunk_decay, state)
    o = from_chunks(o, B, HV, T, dtype)
    return o, (state.reshape(B, HV, K, V) if output_final_state else None)
