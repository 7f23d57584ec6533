"""KDA: torch (chunked) and fla backends against the float32 reference, and the reference against transformers'
Kimi Linear torch functions, so that our specification provably is the model's math."""

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
from hybrid_eval.kernels.kda import kda_chunked, kda_reference
from hybrid_eval.kernels.kda import torch_chunked as kda_chunked_module


def make(B, T, H, HV, K, V, seed=0, strong=False, device="cpu", dtype=torch.float32):
    gen = generator(seed)
    q, k, v = qkv(B, T, H, HV, K, V, gen, device, dtype)
    g = log_gates(B, T, HV, K, gen=gen, strong=strong, device=device)
    beta = betas(B, T, HV, gen=gen, device=device)
    s0 = randn(B, HV, K, V, gen=gen, device=device)
    return q, k, v, g, beta, s0


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_torch_matches_reference(shape):
    q, k, v, g, beta, s0 = make(*shape)
    o_ref, s_ref = kernels.kda(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="reference")
    o, s = kernels.kda(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="torch")
    assert_close(o, o_ref)
    assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what="final state")
    assert s.dtype == torch.float32


@pytest.mark.parametrize("T", [65, 300])
def test_torch_matches_reference_strong_gates(T):
    """Gates down to -20 per token: no overflow, no NaN, same numbers."""
    q, k, v, g, beta, s0 = make(1, T, 2, 2, 16, 16, seed=1, strong=True)
    o_ref, s_ref = kda_reference(q, k, v, g, beta, 16**-0.5, s0, True)
    o, s = kda_chunked(q, k, v, g, beta, 16**-0.5, s0, True)
    assert_close(o, o_ref)
    assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what="final state")


@pytest.mark.parametrize(
    "gate_scale, form",
    [(0.05, "factored chunk"), (1.5, "factored sub-blocks"), (None, "pairwise")],
    ids=["mild", "medium", "strong"],
)
def test_decayed_products_every_form(monkeypatch, gate_scale, form):
    """The three forms of the intra-chunk products (by gate strength) equal the brute-force sum, and each
    regime takes the form it should."""
    gen = generator(12)
    a, b = randn(2, 128, 16, gen=gen), randn(2, 128, 16, gen=gen)
    if gate_scale is None:
        g = log_gates(2, 128, 16, gen=gen, strong=True)
    else:
        g = gate_scale * log_gates(2, 128, 16, gen=gen)
    gamma = g.cumsum(-2)
    ran = []
    for name in ("_factored", "_pairwise"):
        original = getattr(kda_chunked_module, name)
        monkeypatch.setattr(kda_chunked_module, name, lambda *x, f=original, n=name: ran.append(n) or f(*x))
    got = kda_chunked_module.decayed_products(a, b, gamma, strict=False)
    diff = gamma[:, :, None, :] - gamma[:, None, :, :]  # (2, i, j, K)
    causal = torch.ones(128, 128, dtype=torch.bool).tril()[..., None]
    want = torch.einsum("bid,bjd,bijd->bij", a, b, diff.masked_fill(~causal, float("-inf")).exp())
    assert_close(got, want, what=form)
    expected = {"factored chunk": ["_factored"], "factored sub-blocks": ["_factored"], "pairwise": ["_pairwise"]}
    assert ran == expected[form]
    if form == "factored sub-blocks":
        assert not kda_chunked_module._spans_ok(gamma)  # the whole chunk could not be factored at once


def test_torch_chunk_sizes_agree():
    """Padding and chunk boundaries: chunk 16 (many chunks, padded tail) equals chunk 64."""
    q, k, v, g, beta, s0 = make(1, 203, 2, 2, 16, 16, seed=2)
    a = kda_chunked(q, k, v, g, beta, 0.25, s0, True, chunk_size=16)
    b = kda_chunked(q, k, v, g, beta, 0.25, s0, True, chunk_size=64)
    assert_close(a[0], b[0])
    assert_close(a[1], b[1], what="final state")


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_split_sequence_carries_state(backend):
    q, k, v, g, beta, s0 = make(2, 150, 2, 4, 16, 32, seed=3)
    whole, s_whole = kernels.kda(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend=backend)
    cut = 71
    first, s_mid = kernels.kda(
        q[:, :cut], k[:, :cut], v[:, :cut], g[:, :cut], beta[:, :cut],
        initial_state=s0, output_final_state=True, backend=backend,
    )
    second, s_end = kernels.kda(
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
    for name, got, want in zip(names, grads(kda_chunked), grads(kda_reference)):
        assert_close(got, want, GRAD_ATOL, GRAD_RTOL, what=f"grad {name}")


def test_reference_matches_transformers():
    """Our spec equals transformers' Kimi Linear recurrent_ and chunk_kimi_delta_attention (q/k pre-normalised)."""
    kimi = pytest.importorskip("transformers.models.kimi_linear.modeling_kimi_linear")
    q, k, v, g, beta, s0 = make(2, 100, 2, 2, 16, 16, seed=6)
    o_ref, s_ref = kda_reference(q, k, v, g, beta, 16**-0.5, s0, True)
    for name in ("recurrent_kimi_delta_attention", "chunk_kimi_delta_attention"):
        fn = getattr(kimi, name)  # transformers 5.25 wraps them in objects without __name__
        o, s = fn(q, k, v, g=g, beta=beta, initial_state=s0, output_final_state=True, use_qk_l2norm_in_kernel=False)
        assert_close(o, o_ref, what=f"{name} output")
        assert_close(s, s_ref, STATE_ATOL, STATE_RTOL, what=f"{name} final state")


def test_grouped_heads_equal_repeated_heads():
    """HV = 2H is the same as repeating each q/k head for its two value heads."""
    q, k, v, g, beta, s0 = make(1, 70, 2, 4, 16, 16, seed=10)
    o, s = kda_chunked(q, k, v, g, beta, 0.25, s0, True)
    o_rep, s_rep = kda_reference(q.repeat_interleave(2, 2), k.repeat_interleave(2, 2), v, g, beta, 0.25, s0, True)
    assert_close(o, o_rep)
    assert_close(s, s_rep, what="final state")


def test_bfloat16_inputs_run_in_float32():
    """bf16 in, bf16 out; the state stays float32 and close to the float32 computation."""
    q, k, v, g, beta, s0 = make(1, 100, 2, 2, 16, 16, seed=7)
    o32, s32 = kda_chunked(q, k, v, g, beta, 0.25, s0, True)
    o16, s16 = kernels.kda(
        q.bfloat16(), k.bfloat16(), v.bfloat16(), g, beta, scale=0.25, initial_state=s0,
        output_final_state=True, backend="torch",
    )
    assert o16.dtype == torch.bfloat16 and s16.dtype == torch.float32
    assert relative_error(o16, o32) < 2e-2


def test_invalid_arguments_name_the_value():
    q, k, v, g, beta, s0 = make(1, 8, 2, 2, 16, 16)
    with pytest.raises(ValueError, match=r"g must have shape \[1, 8, 2, 16\]; got \[1, 8, 2\]"):
        kernels.kda(q, k, v, g[..., 0], beta)
    with pytest.raises(ValueError, match="v's heads \\(3\\) must be a multiple of q/k's heads \\(2\\)"):
        kernels.kda(q, k, torch.randn(1, 8, 3, 16), g, beta)
    with pytest.raises(ValueError, match="initial_state must be float32"):
        kernels.kda(q, k, v, g, beta, initial_state=s0.double())
    with pytest.raises(ValueError, match="q and k must have the same shape"):
        kernels.kda(q, k[:, :4], v, g, beta)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        kernels.kda(q, k, v, g, beta, scale=-1.0)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("T", [1, 63, 64, 65, 1000])
def test_fla_matches_torch_on_gpu(dtype, T):
    pytest.importorskip("fla")
    q, k, v, g, beta, s0 = make(2, T, 2, 4, 64, 64, seed=8, device="cuda", dtype=dtype)
    o, s = kernels.kda(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="fla")
    o_t, s_t = kernels.kda(q, k, v, g, beta, initial_state=s0, output_final_state=True, backend="torch")
    limit = 5e-3 if dtype == torch.float32 else 2e-2
    assert o.dtype == dtype and s.dtype == torch.float32
    assert relative_error(o, o_t) < limit, relative_error(o, o_t)
    assert relative_error(s, s_t) < limit, relative_error(s, s_t)


@pytest.mark.gpu
@cuda
def test_fla_gradients_match_torch_on_gpu():
    pytest.importorskip("fla")
    ok, reason = kernels.fla_backward_ok("kda")
    if not ok:
        pytest.skip(reason)
    inputs = make(1, 200, 2, 2, 64, 64, seed=9, device="cuda")

    def grads(backend):
        xs = [x.clone().requires_grad_(True) for x in inputs]
        o, s = kernels.kda(*xs[:5], initial_state=xs[5], output_final_state=True, backend=backend)
        (o.sum() + s.sum()).backward()
        return [x.grad for x in xs]

    for got, want in zip(grads("fla"), grads("torch")):
        assert relative_error(got, want) < 5e-3
