"""Realistic random inputs for the kernel tests: L2-normalised q/k, beta in (0, 1), log-space gates <= 0."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

# Tolerances of the torch (chunked) backend against the float32 reference, in float32.
ATOL, RTOL = 1e-4, 1e-4  # outputs
STATE_ATOL, STATE_RTOL = 1e-4, 1e-4  # final states
GRAD_ATOL, GRAD_RTOL = 1e-4, 1e-3  # gradients (longer sums of products)

# (B, T, H, HV, K, V): every T that breaks chunked kernels; the long one small so the reference loop is fast.
SHAPES = [
    (2, 1, 2, 4, 16, 32),
    (2, 63, 2, 4, 16, 32),
    (2, 64, 2, 4, 16, 32),
    (2, 65, 2, 4, 16, 32),
    (1, 1000, 2, 2, 16, 16),
]
SHAPE_IDS = [f"T{s[1]}" for s in SHAPES]


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, gen: torch.Generator, device="cpu", dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)


def qkv(B, T, H, HV, K, V, gen, device="cpu", dtype=torch.float32):
    """q, k: (B, T, H, K) L2-normalised; v: (B, T, HV, V) standard normal."""
    q = F.normalize(randn(B, T, H, K, gen=gen), dim=-1)
    k = F.normalize(randn(B, T, H, K, gen=gen), dim=-1)
    v = randn(B, T, HV, V, gen=gen)
    return tuple(x.to(device=device, dtype=dtype) for x in (q, k, v))


def log_gates(*shape, gen, strong=False, device="cpu"):
    """-softplus(N(0,1)) (per-token decay ~0.3-0.7), or with ``strong`` down to -20 (state wiped per token)."""
    g = -F.softplus(randn(*shape, gen=gen))
    if strong:
        g = g - 20.0 * torch.rand(*shape, generator=gen)
    return g.to(device)


def betas(*shape, gen, device="cpu"):
    return torch.sigmoid(randn(*shape, gen=gen)).to(device)


def assert_close(actual, expected, atol=ATOL, rtol=RTOL, what="output"):
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    assert torch.isfinite(actual).all(), f"{what}: non-finite values"
    torch.testing.assert_close(actual.float(), expected.float(), atol=atol, rtol=rtol, msg=lambda m: f"{what}: {m}")


def relative_error(actual, expected) -> float:
    """max |a - e| / max |e| (fla's style of comparing a fast path to the naive one)."""
    return ((actual.float() - expected.float()).abs().max() / expected.float().abs().max().clamp_min(1e-12)).item()


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
