"""Backend dispatch: per-call resolution, one-line errors, the run default, call counters, and the fla backend's
verifier: its device and install refusals and its detection of fla's Hopper/Triton backward refusal
(docs/design.md §9)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import types

import pytest
import torch

from hybrid_eval import kernels
from hybrid_eval.kernels import backend
from hybrid_eval.kernels.backends import fla as fla_backend
from hybrid_eval.kernels.registry import Verdict


@pytest.fixture
def default_backend():
    """Restore the run default after a test that changes it."""
    previous = kernels.get_backend()
    yield
    kernels.set_backend(previous)


def small_inputs():
    q = torch.nn.functional.normalize(torch.randn(1, 5, 2, 8), dim=-1)
    return q, q.clone(), torch.randn(1, 5, 2, 8), -torch.rand(1, 5, 2), torch.rand(1, 5, 2)


def test_auto_on_cpu_resolves_to_torch():
    assert kernels.resolve("auto", torch.zeros(1)) == "torch"
    assert kernels.resolve("reference", torch.zeros(1)) == "reference"


def test_fla_on_cpu_is_one_clear_error():
    with pytest.raises(ValueError) as info:
        kernels.gated_delta(*small_inputs(), backend="fla")
    assert str(info.value) == "backend 'fla' needs CUDA tensors; got cpu. Use backend='torch' or 'auto'."


def test_fla_not_installed_says_how_to_install(monkeypatch):
    monkeypatch.setattr(fla_backend, "fla_available", lambda: False)
    with pytest.raises(ValueError, match=r"pip install 'hybrid-eval\[gpu\]'"):
        kernels.resolve("fla")  # no tensors: the device check passes, the install check speaks


def test_unknown_backend_lists_accepted_names():
    with pytest.raises(ValueError) as info:
        kernels.kda(*small_inputs()[:3], -torch.rand(1, 5, 2, 8), torch.rand(1, 5, 2), backend="triton")
    assert str(info.value) == "unknown kernel backend 'triton'; accepted: 'auto', 'reference', 'torch', 'fla'."
    with pytest.raises(ValueError, match="accepted: 'auto', 'reference', 'torch', 'fla'"):
        kernels.set_backend("cuda")


def test_set_backend_changes_what_auto_means(default_backend):
    kernels.calls.clear()
    assert kernels.set_backend("reference") == "auto"
    assert kernels.get_backend() == "reference"
    kernels.gated_delta(*small_inputs())  # backend="auto" by default
    kernels.gated_delta(*small_inputs(), backend="torch")  # an explicit backend still wins
    assert kernels.calls[("gated_delta", "reference")] == 1
    assert kernels.calls[("gated_delta", "torch")] == 1


def test_call_counters_count_each_op_and_backend():
    kernels.calls.clear()
    q, k, v, g, beta = small_inputs()
    for _ in range(2):
        kernels.gated_delta(q, k, v, g, beta, backend="torch")
    kernels.kda(q, k, v, g[..., None].expand(1, 5, 2, 8), beta, backend="reference")
    kernels.lightning(q, k, v, torch.tensor([0.1, 0.2]))
    kernels.short_conv(torch.randn(1, 5, 4), torch.randn(4, 3), backend="reference")
    assert kernels.calls == {
        ("gated_delta", "torch"): 2,
        ("kda", "reference"): 1,
        ("lightning", "torch"): 1,
        ("short_conv", "reference"): 1,
    }


def test_backends_agree_through_the_public_api():
    """Smoke-level agreement of all CPU backends for every op through ``kernels.*``."""
    q, k, v, g, beta = small_inputs()
    gk = -torch.rand(1, 5, 2, 8)
    for op, args in [
        (kernels.gated_delta, (q, k, v, g, beta)),
        (kernels.kda, (q, k, v, gk, beta)),
        (kernels.lightning, (q, k, v, torch.tensor([0.1, 0.2]))),
    ]:
        got, want = op(*args, backend="torch")[0], op(*args, backend="reference")[0]
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


class FakeHopper:
    """Patches what fla_backward_ok reads: fla installed, a CUDA device of the given kind, Triton's version."""

    def __init__(self, monkeypatch, capability=(9, 0), name="NVIDIA H100 80GB HBM3", triton="3.6.0", tilelang=False):
        monkeypatch.setattr(fla_backend, "fla_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        real_version, real_find_spec = importlib.metadata.version, importlib.util.find_spec
        monkeypatch.setattr(
            importlib.metadata, "version", lambda pkg: triton if pkg == "triton" else real_version(pkg)
        )
        monkeypatch.setattr(
            importlib.util, "find_spec",
            lambda mod, *a: (object() if tilelang else None) if mod == "tilelang" else real_find_spec(mod, *a),
        )


def test_fla_backward_refused_on_hopper_with_triton_3_6(monkeypatch):
    FakeHopper(monkeypatch, triton="3.6.0")
    ok, reason = kernels.fla_backward_ok()
    assert not ok
    assert "3.6.0" in reason and "#640" in reason and "sm_90" in reason


@pytest.mark.parametrize(
    "kind",
    [
        dict(triton="3.7.1"),  # fixed Triton
        dict(triton="3.3.1"),  # before the regression
        dict(capability=(8, 0), name="NVIDIA A100-SXM4-80GB"),  # not Hopper
        dict(tilelang=True),  # fla routes the kernel through TileLang
    ],
    ids=["triton-3.7.1", "triton-3.3", "ampere", "tilelang"],
)
def test_fla_backward_allowed_elsewhere(monkeypatch, kind):
    FakeHopper(monkeypatch, **kind)
    ok, reason = kernels.fla_backward_ok("gated_delta")
    assert ok, reason


def test_fla_backward_only_gated_delta_is_affected(monkeypatch):
    FakeHopper(monkeypatch, triton="3.6.0")
    for op in ("kda", "lightning", "short_conv"):
        assert kernels.fla_backward_ok(op)[0], op


def test_fla_backward_without_fla_or_cuda(monkeypatch):
    monkeypatch.setattr(fla_backend, "fla_available", lambda: False)
    assert kernels.fla_backward_ok() == (False, "flash-linear-attention is not installed")
    monkeypatch.setattr(fla_backend, "fla_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert kernels.fla_backward_ok() == (False, "no CUDA device")


def test_run_fla_picks_the_recurrent_kernel_only_for_short_inputs_without_gradients():
    """kernels.backend.run_fla (what every kernels/<op>/fla.py calls), with stand-ins for fla's two kernels."""
    called = []

    def kernel(name):
        def run(q, k, v, scale, initial_state, output_final_state, **inputs):
            called.append((name, sorted(inputs), scale))
            state = torch.ones(1, dtype=torch.float64) if output_final_state else None
            return q * 2, state

        return run

    chunk, recurrent = kernel("chunk"), kernel("recurrent")
    q = torch.randn(1, 64, 2, 4)
    g = torch.zeros(1, 64, 2)
    o, state = backend.run_fla(chunk, recurrent, q, q, q, 0.5, None, True, g=g, beta=g)
    assert called[-1] == ("recurrent", ["beta", "g"], 0.5) and torch.equal(o, 2 * q)
    assert state.dtype == torch.float32  # the final state comes back in float32 whatever fla returns
    backend.run_fla(chunk, recurrent, torch.randn(1, 65, 2, 4), q, q, 0.5, None, False, g=g)
    assert called[-1][0] == "chunk"  # longer than 64 tokens
    backend.run_fla(chunk, recurrent, q, q, q, 0.5, None, False, g=g.clone().requires_grad_())
    assert called[-1][0] == "chunk"  # the recurrent kernel has no backward
    _, none = backend.run_fla(chunk, recurrent, q, q, q, 0.5, None, False, g_gamma=g[0, 0])
    assert called[-1] == ("recurrent", ["g_gamma"], 0.5) and none is None


@pytest.fixture
def fresh_backward_check():
    """The fla backend caches its backward check per (op, device); clear it around a test that fakes a GPU."""
    fla_backend.backward_ok_cached.cache_clear()
    yield
    fla_backend.backward_ok_cached.cache_clear()


def on_cuda(requires_grad=False):
    """A stand-in for a CUDA tensor: all the verifier and the gradient test read of a call's tensors."""
    return types.SimpleNamespace(is_cuda=True, device=torch.device("cuda", 0), requires_grad=requires_grad)


def test_fla_verifier_refuses_cpu_tensors_and_a_missing_install(monkeypatch):
    assert fla_backend.FLA.verify("kda", (torch.zeros(1), None), grad=False) == Verdict(
        False, "backend 'fla' needs CUDA tensors; got cpu. Use backend='torch' or 'auto'."
    )
    assert fla_backend.FLA.verify(None, (torch.zeros(1, device="meta"), torch.zeros(1), on_cuda()), False) == Verdict(
        False, "backend 'fla' needs CUDA tensors; got cpu, meta. Use backend='torch' or 'auto'."
    )
    monkeypatch.setattr(fla_backend, "fla_available", lambda: False)
    assert fla_backend.FLA.verify("kda", (on_cuda(), None), grad=False) == Verdict(
        False,
        "backend 'fla' needs flash-linear-attention, which is not installed: "
        "pip install 'hybrid-eval[gpu]' (or use backend='torch' or 'auto').",
    )


def test_fla_verifier_holds_the_hopper_backward_check(monkeypatch, fresh_backward_check):
    """On a (faked) H100 with Triton 3.6.0, fla routes the gated delta rule through its KDA kernels when gradients
    are needed (or, with the route switched off, serves the forward and names torch for the backward); other ops,
    calls without gradients and a fixed Triton are served whole."""
    FakeHopper(monkeypatch, triton="3.6.0")
    refused = "fla refuses gated backward on NVIDIA H100 80GB HBM3 (sm_90) with Triton 3.6.0 (>= 3.4, < 3.7.1; fla issue #640)"
    tensors = (on_cuda(requires_grad=True), None)
    assert fla_backend.FLA.verify("gated_delta", tensors, grad=True) == Verdict(
        True, refused + ": gradients through fla's chunk_kda (the gate broadcast over K)", route="kda"
    )
    monkeypatch.setattr(fla_backend, "GATED_DELTA_ROUTE", None)
    assert fla_backend.FLA.verify("gated_delta", tensors, grad=True) == Verdict(
        True, refused + ": needs Triton >= 3.7.1 or tilelang; use the torch backward", backward="torch"
    )
    assert fla_backend.FLA.verify("gated_delta", tensors, grad=False) == Verdict(True)
    assert fla_backend.FLA.verify("kda", tensors, grad=True) == Verdict(
        True, "fla's kda backward does not use the gated chunk_bwd_dqkwg kernel refused on Hopper"
    )
    fla_backend.backward_ok_cached.cache_clear()
    FakeHopper(monkeypatch, triton="3.7.1")
    assert fla_backend.FLA.verify("gated_delta", tensors, grad=True) == Verdict(
        True, "NVIDIA H100 80GB HBM3 (sm_90) with Triton 3.7.1 is not affected by fla issue #640"
    )


def test_fla_dispatch_routes_gated_delta_through_kda_on_an_affected_gpu(monkeypatch, fresh_backward_check):
    """Through the registry: the verifier's route="kda" runs the function declared as "fla:kda", counted under that
    name; with the route off, backward="torch" becomes the fla forward + torch backward pairing, counted as
    ("gated_delta", "fla+torch_backward"); without gradients, fla's own function runs."""
    FakeHopper(monkeypatch, triton="3.6.0")
    monkeypatch.setitem(backend.registry.implementations["gated_delta"], "fla", lambda *args: "fla's function")
    monkeypatch.setitem(backend.registry.implementations["gated_delta"], "fla:kda", lambda *args: "through kda")
    kernels.calls.clear()
    assert backend.dispatch("gated_delta", "fla", (on_cuda(requires_grad=True), None))() == "through kda"
    monkeypatch.setattr(fla_backend, "GATED_DELTA_ROUTE", None)
    run = backend.dispatch("gated_delta", "fla", (on_cuda(requires_grad=True), None))
    assert run.__qualname__ == "forward_backward.<locals>.run"  # kernels/recompute.py's pairing
    with torch.no_grad():
        assert backend.dispatch("gated_delta", "fla", (on_cuda(requires_grad=True), None))() == "fla's function"
    assert kernels.calls == {("gated_delta", "fla:kda"): 1, ("gated_delta", "fla+torch_backward"): 1,
                             ("gated_delta", "fla"): 1}


def test_a_route_must_be_declared():
    from hybrid_eval.kernels.registry import Backend, Registry

    class Routing(Backend):
        def verify(self, op, tensors, grad):
            return Verdict(True, route="other")

    registry = Registry()
    registry.register(Routing("b"), auto=0)
    registry.implement("op", {"b": lambda: "own", "b:fast": lambda: "fast"})
    with pytest.raises(ValueError, match="backend 'b' routes op to 'b:other', which is not declared"):
        registry.dispatch("op", "b", ())
    with pytest.raises(ValueError, match="no kernel backend 'c' is registered"):
        registry.implement("op", {"c:fast": lambda: 0})
    registry.unregister("b")
    assert registry.implementations["op"] == {}
