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
padding), T = 1 (decoding) as one recurrent step. Compared with transformers' torch_chunk_gated_delta_rule:

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

CHUNK = 64
# Exponents below this are taken as -inf (exactly 0 after exp). e^-30 ~ 1e-13 is far below float32's
# resolution next to the terms kept, and it keeps strongly negative gates (Qwen3-Next's default init decays
# ~e^-13 per token) from filling the chunk with subnormal floats, which are ~100x slower on x86 CPUs.
EXP_FLOOR = -30.0


def floored_exp(x: torch.Tensor) -> torch.Tensor:
    """e^x for x <= 0, with x < EXP_FLOOR flushed to exactly 0."""
    return x.masked_fill(x < EXP_FLOOR, float("-inf")).exp()


def chunk_layout(T: int, chunk_size: int) -> tuple[int, int]:
    """(C, N): chunk length and number of chunks. T <= 2 * chunk_size runs as one chunk of T tokens."""
    if T <= 2 * chunk_size:
        return max(T, 1), 1
    return chunk_size, -(-T // chunk_size)


def to_chunks(x: torch.Tensor, C: int, N: int) -> torch.Tensor:
    """(B, T, H, ...) any dtype -> (N, B*H, C, ...) float32, contiguous (one copy), zero-padded to N*C.

    Chunk-major, so that the chunk loop's slices ``x[n]`` are contiguous (B*H, C, ...) batches for ``bmm``.
    """
    B, T, H = x.shape[:3]
    rest = x.shape[3:]
    out = x.new_empty(N, B, H, C, *rest, dtype=torch.float32)
    full = T // C  # chunks without padding
    if full:
        out[:full] = x[:, : full * C].reshape(B, full, C, H, *rest).movedim((1, 2), (0, 3))
    if full < N:
        tail = T - full * C
        out[full, :, :, :tail] = x[:, full * C :].movedim(1, 2)
        out[full, :, :, tail:] = 0.0
    return out.reshape(N, B * H, C, *rest)


def from_chunks(o: torch.Tensor, B: int, H: int, T: int, dtype: torch.dtype) -> torch.Tensor:
    """(N, B*H, C, V) -> (B, T, H, V) in ``dtype``, padding dropped (one copy)."""
    N, _, C, V = o.shape
    o = o.reshape(N, B, H, C, V).permute(1, 0, 3, 2, 4).reshape(B, N * C, H, V)[:, :T]
    return o.to(dtype, memory_format=torch.contiguous_format)


def causal_decay(gamma: torch.Tensor) -> torch.Tensor:
    """(..., C) cumulative log decays -> (..., C, C) with e^{gamma_i - gamma_j} for j <= i, else 0."""
    C = gamma.shape[-1]
    diff = gamma[..., :, None] - gamma[..., None, :]
    upper = torch.ones(C, C, dtype=torch.bool, device=gamma.device).triu(1)
    return diff.masked_fill(upper | (diff < EXP_FLOOR), float("-inf")).exp()


def solve_unit_lower(a: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """X with (I + a) X = rhs, for ``a`` (..., C, C) strictly lower triangular (diagonal and above ignored).

    A triangular solve against the right-hand sides, not an explicit inverse: the inverse's entries are long
    products of decayed k.k terms that reach subnormal floats with mild gates (e.g. log-sigmoid gates,
    ~e^-0.5 per token), and subnormals made an inverse-based version 10x slower on CPU.
    """
    return torch.linalg.solve_triangular(a, rhs, upper=False, unitriangular=True)


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
