"""Chunk machinery shared by the chunked torch forms of the linear-attention ops (gated delta, KDA, lightning).

The chunkwise-parallel form of linear attention (GLA and DeltaNet, Yang et al. 2024; fla's ``chunk_*`` kernels):
the sequence is cut into chunks of C tokens, laid out chunk-major as (N, B*H, C, ...) float32 so that a loop
over chunks reads contiguous batches; inside a chunk, cumulative log decays gamma give the pairwise factors
e^{gamma_i - gamma_j}. Every exponent taken is <= 0, and those below ``EXP_FLOOR`` are flushed to exact zeros
(subnormal floats are ~100x slower on x86 CPUs). ``solve_unit_lower`` is the (I + A)^{-1} of the WY / UT
transform used by the delta rules.
"""

from __future__ import annotations

import torch

CHUNK = 64
# Exponents below this are taken as -inf (exactly 0 after exp). e^-30 ~ 1e-13 is far below float32's
# resolution next to the terms kept, and it keeps strongly negative gates (Qwen3-Next's default init decays
# ~e^-10 per token at the median) from filling the chunk with subnormal floats, which are ~100x slower on x86 CPUs.
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
