"""Gated delta rule: torch (chunked) and fla backends against the float32 reference, and the reference against
transformers' own Qwen3-Next functions, so that our specification provably is the model's math."""

from __future__ import annotations

import pytest
import torch
from kernel_inputs import (
    GRAD_ATOL,
    GRAD_RTOL,
    SHAPE_IDS,
    SHAPES,
    STATE_ATOL,
    STATE_RTOL,
    assert_close,
    betas,
    cuda,
    generator,
    log_gates,
    qkv,
    randn,
    relative_error,
)

from hybrid_eval import kernels
from hybrid_eval.kernels.gated_delta import gated_delta_chunked, gated_delta_reference


def make(B, T, H, HV, K, V, seed=0, strong=False, device="cpu", dtype=torch.float32):
    gen = generator(seed)
    q, k, v = qkv(B, T, H, HV, K, V, gen, device, dtype)
    g = log_gates(B, T, HV, gen=gen, strong=strong, device=device)
    beta = betas(B, T, HV, gen=gen, device=device)
    s0 = randn(B, HV, K, V, gen=gen, device=device)
    return q, k, v, g, beta, s0


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_torch_matches_reference(shape):
    q, k, v, g, beta, s0 = make(*shape)
    o_ref, s_ref = kernels.gated_delta(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="reference")
    o, s = kernels.gated_delta(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="torch")
    assert_close(o, o_ref)
    assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what="final state")
    assert s.dtype == torch.float32


@pytest.mark.parametrize("T", [65, 300])
def test_torch_matches_reference_strong_gates(T):
    """Gates down to -20 per token: no overflow, no NaN, same numbers."""
    q, k, v, g, beta, s0 = make(1, T, 2, 2, 16, 16, seed=1, strong=True)
    o_ref, s_ref = gated_delta_reference(q, k, v, g, beta, 16**-0.5, s0, True)
    o, s = gated_delta_chunked(q, k, v, g, beta, 16**-0.5, s0, True)
    assert_close(o, o_ref)
    assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what="final state")


def test_torch_chunk_sizes_agree():
    """Padding and chunk boundaries: chunk 16 (many chunks, padded tail) equals chunk 64."""
    q, k, v, g, beta, s0 = make(1, 203, 2, 2, 16, 16, seed=2)
    a = gated_delta_chunked(q, k, v, g, beta, 0.25, s0, True, chunk_size=16)
    b = gated_delta_chunked(q, k, v, g, beta, 0.25, s0, True, chunk_size=64)
    assert_close(a[0], b[0])
    assert_close(a[1], b[1], what="final state")


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_split_sequence_carries_state(backend):
    q, k, v, g, beta, s0 = make(2, 150, 2, 4, 16, 32, seed=3)
    whole, s_whole = kernels.gated_delta(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend=backend)
    cut = 71
    first, s_mid = kernels.gated_delta(
        q[:, :cut], k[:, :cut], v[:, :cut], g[:, :cut], beta[:, :cut],
        initial_state=s0, output_final_state=True, backend=backend,
    )
    second, s_end = kernels.gated_delta(
        q[:, cut:], k[:, cut:], v[:, cut:], g[:, cut:], beta[:, cut:],
        initial_state=s_mid, output_final_state=True, backend=backend,
    )
    assert_close(torch.cat([first, second], dim=1), whole)
    assert_close(s_end, s_whole, STATE_ATOL, STATE_RTOL, what="final state")


def test_gradients_match_reference():
    """d(o . do + S_T . dS) w.r.t. q, k, v, g, beta, initial_state: chunked (3 chunks, padded) vs reference."""
    inputs = make(1, 150, 2, 4, 16, 16, seed=4)
    gen = generator(5)
    do, ds = randn(1, 150, 4, 16, gen=gen), randn(1, 4, 16, 16, gen=gen)

    def grads(fn):
        xs = [x.clone().requires_grad_(True) for x in inputs]
        o, s = fn(*xs[:5], 16**-0.5, xs[5], True)
        ((o * do).sum() + (s * ds).sum()).backward()
        return [x.grad for x in xs]

    names = ["q", "k", "v", "g", "beta", "initial_state"]
    for name, got, want in zip(names, grads(gated_delta_chunked), grads(gated_delta_reference)):
        assert_close(got, want, GRAD_ATOL, GRAD_RTOL, what=f"grad {name}")


@pytest.mark.parametrize("grouped", [False, True], ids=["H=HV", "HV=2H"])
def test_reference_matches_transformers(grouped):
    """Our spec equals transformers' torch_recurrent/torch_chunk_gated_delta_rule (q/k pre-normalised)."""
    qwen3_next = pytest.importorskip("transformers.models.qwen3_next.modeling_qwen3_next")
    HV = 4 if grouped else 2
    q, k, v, g, beta, s0 = make(2, 100, 2, HV, 16, 32, seed=6)
    o_ref, s_ref = gated_delta_reference(q, k, v, g, beta, 16**-0.5, s0, True)
    for name in ("torch_recurrent_gated_delta_rule", "torch_chunk_gated_delta_rule"):
        fn = getattr(qwen3_next, name)  # transformers 5.25 wraps them in objects without __name__
        o, s = fn(q, k, v, g=g, beta=beta, initial_state=s0, output_final_state=True, use_qk_l2norm_in_kernel=False)
        assert_close(o, o_ref, what=f"{name} output")
        assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what=f"{name} final state")


def test_bfloat16_inputs_run_in_float32():
    """bf16 in, bf16 out; the state stays float32 and close to the float32 computation."""
    q, k, v, g, beta, s0 = make(1, 100, 2, 2, 16, 16, seed=7)
    o32, s32 = gated_delta_chunked(q, k, v, g, beta, 0.25, s0, True)
    o16, s16 = kernels.gated_delta(
        q.bfloat16(), k.bfloat16(), v.bfloat16(), g, beta, scale=0.25, initial_state=s0,
        output_final_state=True, backend="torch",
    )
    assert o16.dtype == torch.bfloat16 and s16.dtype == torch.float32
    assert relative_error(o16, o32) < 2e-2


def test_invalid_arguments_name_the_value():
    q, k, v, g, beta, s0 = make(1, 8, 2, 2, 16, 16)
    with pytest.raises(ValueError, match=r"g must have shape \[1, 8, 2\]; got \[1, 8\]"):
        kernels.gated_delta(q, k, v, g[..., 0], beta)
    with pytest.raises(ValueError, match="v's heads \\(3\\) must be a multiple of q/k's heads \\(2\\)"):
        kernels.gated_delta(q, k, torch.randn(1, 8, 3, 16), g, beta)
    with pytest.raises(ValueError, match="initial_state must be float32"):
        kernels.gated_delta(q, k, v, g, beta, initial_state=s0.double())
    with pytest.raises(ValueError, match="q and k must have the same shape"):
        kernels.gated_delta(q, k[:, :4], v, g, beta)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        kernels.gated_delta(q, k, v, g, beta, scale=-1.0)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("T", [1, 63, 64, 65, 1000])
def test_fla_matches_torch_on_gpu(dtype, T):
    pytest.importorskip("fla")
    q, k, v, g, beta, s0 = make(2, T, 2, 4, 64, 64, seed=8, device="cuda", dtype=dtype)
    o, s = kernels.gated_delta(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="fla")
    o_t, s_t = kernels.gated_delta(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="torch")
    limit = 5e-3 if dtype == torch.float32 else 2e-2
    assert o.dtype == dtype and s.dtype == torch.float32
    assert relative_error(o, o_t) < limit, relative_error(o, o_t)
    assert relative_error(s, s_t) < limit, relative_error(s, s_t)


@pytest.mark.gpu
@cuda
def test_fla_gradients_match_torch_on_gpu():
    pytest.importorskip("fla")
    ok, reason = kernels.fla_backward_ok("gated_delta")
    if not ok:
        pytest.skip(reason)
    inputs = make(1, 200, 2, 2, 64, 64, seed=9, device="cuda")

    def grads(backend):
        xs = [x.clone().requires_grad_(True) for x in inputs]
        o, s = kernels.gated_delta(*xs[:5], initial_state=xs[5], output_final_state=True, backend=backend)
        (o.sum() + s.sum()).backward()
        return [x.grad for x in xs]

    for got, want in zip(grads("fla"), grads("torch")):
        assert relative_error(got, want) < 5e-3


@pytest.mark.gpu
@cuda
def test_fla_backward_detection_matches_fla():
    """fla_backward_ok() says False exactly where fla's own gated backward refuses (Hopper, Triton 3.4-3.7.0);
    there our fla backend trains anyway, through fla's KDA kernels (route "fla:kda", kernels/gated_delta/fla.py)."""
    pytest.importorskip("fla")
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule

    ok, reason = kernels.fla_backward_ok("gated_delta")
    inputs = make(1, 128, 2, 2, 64, 64, seed=11, device="cuda", dtype=torch.bfloat16)
    xs = [x.clone().requires_grad_(True) for x in inputs]
    o, _ = chunk_gated_delta_rule(*xs[:5], scale=64**-0.5, initial_state=xs[5])
    if ok:
        o.float().sum().backward()
        assert all(x.grad is not None for x in xs), reason
    else:
        with pytest.raises(RuntimeError, match="640"):
            o.float().sum().backward()
    kernels.calls.clear()
    xs = [x.clone().requires_grad_(True) for x in inputs]
    o, _ = kernels.gated_delta(*xs[:5], initial_state=xs[5], backend="fla")
    o.float().sum().backward()
    assert all(x.grad is not None for x in xs)
    assert kernels.calls[("gated_delta", "fla" if ok else "fla:kda")] == 1


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("strong", [False, True], ids=["gates", "strong_gates"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_gated_delta_through_kda_matches_torch_on_gpu(strong, dtype):
    """The gated delta rule computed by fla's KDA kernels (the gate broadcast over K): outputs, final state and
    every gradient against the torch backend in float32, with ordinary gates and with gates down to -20 per token."""
    pytest.importorskip("fla")
    from hybrid_eval.kernels.gated_delta import gated_delta_as_kda, gated_delta_chunked

    inputs = make(2, 300, 2, 4, 64, 64, seed=12, device="cuda", strong=strong)

    def run(fn, cast):
        xs = [x.clone().to(cast if i < 3 else x.dtype).requires_grad_(True) for i, x in enumerate(inputs)]
        o, s = fn(*xs[:5], 64**-0.5, xs[5], True)
        (o.float().square().sum() + s.sum()).backward()
        return [o.float(), s] + [x.grad.float() for x in xs]

    got = run(gated_delta_as_kda, dtype)
    want = run(gated_delta_chunked, torch.float32)
    limit = 5e-3 if dtype == torch.float32 else 3e-2
    for name, a, b in zip(["o", "state", "dq", "dk", "dv", "dg", "dbeta", "ds0"], got, want):
        assert torch.isfinite(a).all(), name
        assert relative_error(a, b) < limit, (name, relative_error(a, b))
