"""fla forward + torch backward (hybrid_eval/kernels/recompute.py), the training path where fla refuses its gated backward.

On CPU the pairing is checked with the reference loop standing in for fla's forward: outputs are the fast
function's, gradients (w.r.t. q, k, v, g, beta, initial_state, through o and the final state) equal the torch
backend's to 1e-5. The dispatch test fakes an affected GPU to check that the registry's `dispatch` picks the pairing
only when gradients are needed, and counts it as ("gated_delta", "fla+torch_backward").
"""
from __future__ import annotations

import pytest
import torch

from hybrid_eval.kernels import backend
from hybrid_eval.kernels.backends.fla import FLA
from hybrid_eval.kernels.gated_delta import gated_delta, gated_delta_chunked, gated_delta_reference
from hybrid_eval.kernels.recompute import forward_backward
from hybrid_eval.kernels.registry import Verdict
from tests.kernels.kernel_inputs import betas, generator, log_gates, qkv


def _inputs(T=70):
    gen = generator(3)
    q, k, v = qkv(2, T, 2, 2, 8, 8, gen)
    g, beta = log_gates(2, T, 2, gen=gen), betas(2, T, 2, gen=gen)
    state = torch.randn(2, 2, 8, 8, generator=gen)
    return [x.requires_grad_() for x in (q, k, v, g, beta, state)]


def _grads(fn, inputs):
    o, final = fn(*inputs[:5], 8**-0.5, inputs[5], True)
    (o.square().sum() + final.sin().sum()).backward()
    out = [x.grad.clone() for x in inputs]
    for x in inputs:
        x.grad = None
    return o.detach(), final.detach(), out


def test_forward_is_fast_backward_is_slow():
    inputs = _inputs()
    o_pair, s_pair, g_pair = _grads(forward_backward(gated_delta_reference, gated_delta_chunked), inputs)
    o_ref, s_ref, _ = _grads(gated_delta_reference, inputs)
    _, _, g_torch = _grads(gated_delta_chunked, inputs)
    assert torch.equal(o_pair, o_ref) and torch.equal(s_pair, s_ref)  # the forward is exactly the fast one's
    for got, want in zip(g_pair, g_torch):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_no_final_state_and_no_grad_inputs():
    q, k, v, g, beta, _ = _inputs(5)
    v = v.detach()
    o, final = forward_backward(gated_delta_reference, gated_delta_chunked)(q, k, v, g, beta, 8**-0.5, None, False)
    assert final is None
    o.sum().backward()
    assert q.grad is not None and v.grad is None


def test_dispatch_pairs_only_when_gradients_are_needed(monkeypatch):
    """A faked affected GPU: the fla backend's verdict names torch for the backward when gradients are needed, and
    the registry pairs fla's function (the reference loop standing in) with the torch backend's."""
    monkeypatch.setitem(backend.registry.implementations["gated_delta"], "fla", gated_delta_reference)
    monkeypatch.setattr(FLA, "verify", lambda op, tensors, grad: Verdict(True, "affected", "torch" if grad else None))
    backend.calls.clear()
    q, k, v, g, beta, state = _inputs(5)
    run = backend.dispatch("gated_delta", "fla", (q, k, v, g, beta, state))
    assert backend.calls[("gated_delta", backend.FLA_TORCH_BACKWARD)] == 1
    o, _ = run(q, k, v, g, beta, 8**-0.5, state, True)
    o.sum().backward()
    assert torch.equal(o, gated_delta_reference(q, k, v, g, beta, 8**-0.5, state, True)[0])
    want = torch.autograd.grad(gated_delta_chunked(q, k, v, g, beta, 8**-0.5, state, True)[0].sum(), q)[0]
    torch.testing.assert_close(q.grad, want, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        assert backend.dispatch("gated_delta", "fla", (q, k)) is gated_delta_reference
    assert backend.calls[("gated_delta", "fla")] == 1


@pytest.mark.gpu
def test_fla_gated_delta_trains_on_this_gpu():
    """On CUDA with fla: auto training of the gated delta rule runs (fla's backward or the pairing) and matches torch."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    if not backend.fla_available():
        pytest.skip("flash-linear-attention is not installed")
    inputs = [x.detach().cuda().requires_grad_() for x in _inputs(300)]
    backend.calls.clear()
    o, final = gated_delta(*inputs[:5], initial_state=inputs[5], output_final_state=True)
    (o.square().sum() + final.sin().sum()).backward()
    got = [x.grad.clone() for x in inputs]
    ok, _ = backend.fla_backward_ok("gated_delta")
    assert backend.calls[("gated_delta", "fla" if ok else backend.FLA_TORCH_BACKWARD)] == 1
    for x in inputs:
        x.grad = None
    _, _, want = _grads(gated_delta_chunked, inputs)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3)
