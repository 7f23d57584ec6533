"""Lightning attention: torch (chunked) and fla backends against the float32 reference, and the reference (with
MiniMax's scale 1.0 and its decay schedule) against transformers' MiniMaxLightningAttention forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from kernel_inputs import (
    GRAD_ATOL,
    GRAD_RTOL,
    SHAPE_IDS,
    SHAPES,
    assert_close,
    cuda,
    generator,
    randn,
    relative_error,
)

from hybrid_eval import kernels
from hybrid_eval.kernels.lightning import lightning_chunked, lightning_reference

# MiniMax's q, k, v come out of SiLU unnormalised and the scale is 1, so outputs grow to O(10-100): compare
# relative to their size.
RTOL = 1e-5


def minimax_decay(H: int, layer: int, layers: int) -> torch.Tensor:
    """lambda_h as transformers' MiniMaxLightningAttention.get_slope_rate computes it (docs/design.md §5)."""
    return 2.0 ** (-8.0 * (torch.arange(H) + 1) / H) * (1 - layer / (layers - 1 + 1e-5) + 1e-5)


def make(B, T, H, K, V, seed=0, device="cpu", dtype=torch.float32):
    gen = generator(seed)
    q, k = F.silu(randn(B, T, H, K, gen=gen)), F.silu(randn(B, T, H, K, gen=gen))
    v = F.silu(randn(B, T, H, V, gen=gen))
    decay = torch.cat([torch.tensor([0.0, 3.0]), minimax_decay(H, 0, 4)])[:H]  # include no decay and fast decay
    s0 = randn(B, H, K, V, gen=gen)
    return tuple(x.to(device=device, dtype=dtype) for x in (q, k, v)) + (decay.to(device), s0.to(device))


def assert_rel(actual, expected, what="output", limit=RTOL):
    assert actual.shape == expected.shape and torch.isfinite(actual).all(), what
    err = relative_error(actual, expected)
    assert err < limit, f"{what}: relative error {err:.2e} >= {limit:.0e}"


@pytest.mark.parametrize("scale", [None, 1.0], ids=["default-scale", "minimax-scale"])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_torch_matches_reference(shape, scale):
    B, T, H, _, K, V = shape
    q, k, v, decay, s0 = make(B, T, max(H, 3), K, V)
    kw = dict(scale=scale, initial_state=s0, output_final_state=True)
    o_ref, s_ref = kernels.lightning(q, k, v, decay, backend="reference", **kw)
    o, s = kernels.lightning(q, k, v, decay, backend="torch", **kw)
    assert_rel(o, o_ref)
    assert_rel(s, s_ref, what="final state")


def test_default_scale_is_inverse_sqrt_head_dim():
    q, k, v, decay, s0 = make(1, 10, 3, 16, 16)
    o_default, _ = kernels.lightning(q, k, v, decay, backend="reference")
    o_one, _ = kernels.lightning(q, k, v, decay, scale=1.0, backend="reference")
    assert_close(o_default, o_one * 16**-0.5)


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_split_sequence_carries_state(backend):
    q, k, v, decay, s0 = make(2, 150, 3, 16, 32, seed=3)
    kw = dict(scale=1.0, output_final_state=True, backend=backend)
    whole, s_whole = kernels.lightning(q, k, v, decay, initial_state=s0, **kw)
    cut = 71
    first, s_mid = kernels.lightning(q[:, :cut], k[:, :cut], v[:, :cut], decay, initial_state=s0, **kw)
    second, s_end = kernels.lightning(q[:, cut:], k[:, cut:], v[:, cut:], decay, initial_state=s_mid, **kw)
    assert_rel(torch.cat([first, second], dim=1), whole)
    assert_rel(s_end, s_whole, what="final state")


def test_gradients_match_reference():
    """Gradients w.r.t. q, k, v, the decays and the initial state; 3 chunks with a padded tail."""
    inputs = make(1, 150, 3, 16, 16, seed=4)
    gen = generator(5)
    do, ds = randn(1, 150, 3, 16, gen=gen), randn(1, 3, 16, 16, gen=gen)

    def grads(fn):
        xs = [x.clone().requires_grad_(True) for x in inputs]
        o, s = fn(*xs[:4], 16**-0.5, xs[4], True)
        ((o * do).sum() + (s * ds).sum()).backward()
        return [x.grad for x in xs]

    names = ["q", "k", "v", "decay", "initial_state"]
    for name, got, want in zip(names, grads(lightning_chunked), grads(lightning_reference)):
        assert_close(got, want, GRAD_ATOL, GRAD_RTOL * 10 if name == "decay" else GRAD_RTOL, what=f"grad {name}")


def test_reference_matches_transformers_minimax():
    """MiniMaxLightningAttention's forward equals its own projections around our op with scale=1.0 and its decays.

    T = 40 with block_size 16 runs transformers' block path over two full blocks and a partial one.
    """
    minimax = pytest.importorskip("transformers.models.minimax.modeling_minimax")
    from transformers import MiniMaxConfig

    torch.manual_seed(0)
    config = MiniMaxConfig(
        hidden_size=64, num_attention_heads=4, head_dim=16, num_hidden_layers=4, block_size=16,
        num_key_value_heads=4, intermediate_size=64, num_local_experts=2,
    )
    layer = 1
    attn = minimax.MiniMaxLightningAttention(config, layer_idx=layer).eval()
    x = torch.randn(2, 40, 64)
    with torch.no_grad():
        want, _ = attn(x, position_embeddings=None, attention_mask=None)
        qkv = attn.act_fn(attn.qkv_proj(x)).reshape(2, 40, 4, 3 * 16)
        q, k, v = torch.split(qkv, 16, dim=3)
        decay = minimax_decay(4, layer, 4)
        torch.testing.assert_close(decay, attn.slope_rate.view(4))
        o, _ = kernels.lightning(q, k, v, decay, scale=1.0, backend="reference")
        o = attn.norm(o.reshape(2, 40, 64))
        got = attn.out_proj(torch.sigmoid(attn.output_gate(x)) * o)
    assert_rel(got, want, limit=1e-5)


def test_invalid_arguments_name_the_value():
    q, k, v, decay, s0 = make(1, 8, 3, 16, 16)
    with pytest.raises(ValueError, match=r"decay must be a floating-point tensor of shape \[3\]"):
        kernels.lightning(q, k, v, decay[:2])
    with pytest.raises(ValueError, match="decay must be >= 0"):
        kernels.lightning(q, k, v, -decay)
    with pytest.raises(ValueError, match="v must have as many heads as q/k \\(3\\); got 6"):
        kernels.lightning(q, k, torch.randn(1, 8, 6, 16), decay)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("T", [1, 63, 64, 65, 1000])
def test_fla_matches_torch_on_gpu(dtype, T):
    pytest.importorskip("fla")
    q, k, v, decay, s0 = make(2, T, 4, 64, 64, seed=8, device="cuda", dtype=dtype)
    kw = dict(scale=1.0, initial_state=s0, output_final_state=True)
    o, s = kernels.lightning(q, k, v, decay, backend="fla", **kw)
    o_t, s_t = kernels.lightning(q, k, v, decay, backend="torch", **kw)
    limit = 5e-3 if dtype == torch.float32 else 2e-2
    assert o.dtype == dtype and s.dtype == torch.float32
    assert relative_error(o, o_t) < limit, relative_error(o, o_t)
    assert relative_error(s, s_t) < limit, relative_error(s, s_t)


@pytest.mark.gpu
@cuda
def test_fla_gradients_match_torch_on_gpu():
    pytest.importorskip("fla")
    ok, reason = kernels.fla_backward_ok("lightning")
    if not ok:
        pytest.skip(reason)
    inputs = make(1, 200, 4, 64, 64, seed=9, device="cuda")

    def grads(backend):
        xs = [x.clone().requires_grad_(i != 3) for i, x in enumerate(inputs)]  # the decays are constants
        o, s = kernels.lightning(*xs[:4], scale=1.0, initial_state=xs[4], output_final_state=True, backend=backend)
        (o.sum() + s.sum()).backward()
        return [x.grad for i, x in enumerate(xs) if i != 3]

    for got, want in zip(grads("fla"), grads("torch")):
        assert relative_error(got, want) < 5e-3


def _stand_in_fla(monkeypatch, chunk):
    """Install a module tree `fla.ops.simple_gla` whose kernels are `chunk` and a recurrent one that must not run."""
    import sys
    import types

    def recurrent(*args, **kwargs):
        raise AssertionError("a call past one chunk must take the chunk kernel")

    mod = types.ModuleType("fla.ops.simple_gla")
    mod.chunk_simple_gla, mod.fused_recurrent_simple_gla = chunk, recurrent
    for name, module in (("fla", types.ModuleType("fla")), ("fla.ops", types.ModuleType("fla.ops")),
                         ("fla.ops.simple_gla", mod)):
        monkeypatch.setitem(sys.modules, name, module)


def test_a_non_finite_fla_state_is_recomputed_with_torch(monkeypatch, caplog):
    """fla 0.6.0's chunk_simple_gla gave NaN final states for a zero-decay head at T = 65 on an H200 (its outputs
    were right): lightning_fla checks the state past one chunk and falls back to the torch backend, warning once."""
    from hybrid_eval.kernels.lightning.fla import _warn_nonfinite, lightning_fla

    _warn_nonfinite.cache_clear()  # the warning is once per process and shape
    q, k, v, decay, s0 = make(2, 65, 3, 8, 8, seed=3)
    want_o, want_s = lightning_chunked(q, k, v, decay, 1.0, s0, True)
    calls = []

    def chunk(q, k, v, scale, initial_state, output_final_state, g_gamma):
        calls.append(q.shape[1])
        torch.testing.assert_close(g_gamma, -decay)
        return want_o + 1.0, torch.full_like(want_s, float("nan"))  # wrong output too: the fallback replaces both

    _stand_in_fla(monkeypatch, chunk)
    with caplog.at_level("WARNING"):
        o, s = lightning_fla(q, k, v, decay, 1.0, s0, True)
    assert calls == [65] and "non-finite final state" in caplog.text
    torch.testing.assert_close(o, want_o)
    torch.testing.assert_close(s, want_s)


def test_a_finite_fla_state_is_returned_as_is(monkeypatch):
    from hybrid_eval.kernels.lightning.fla import lightning_fla

    q, k, v, decay, s0 = make(1, 70, 2, 8, 8, seed=4)
    sentinel_o, sentinel_s = torch.zeros(1, 70, 2, 8), torch.ones(1, 2, 8, 8)
    _stand_in_fla(monkeypatch, lambda q, k, v, **kw: (sentinel_o, sentinel_s))
    o, s = lightning_fla(q, k, v, decay, 1.0, s0, True)
    assert o is sentinel_o and torch.equal(s, sentinel_s)
