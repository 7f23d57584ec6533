"""The backend registry (hybrid_eval/kernels/registry.py, kernels/backend.py): names, the order "auto" tries, the
one-line refusals, the run default, and a fourth backend registered by a test that every op picks up without
an edit to the op (then unregistered)."""

from __future__ import annotations

import types

import pytest
import torch

from hybrid_eval import kernels
from hybrid_eval.kernels import backend
from hybrid_eval.kernels.backends import fla as fla_backend
from hybrid_eval.kernels.registry import Backend, Registry, Verdict

BUILT_IN = ("auto", "reference", "torch", "fla")


class Float32Only(Backend):
    """A test backend: the reference loops, for float32 tensors only."""

    def verify(self, op, tensors, grad):
        dtypes = sorted({str(t.dtype) for t in tensors if t is not None and t.dtype != torch.float32})
        if dtypes:
            return Verdict(False, f"backend {self.name!r} needs float32 tensors; got {', '.join(dtypes)}.")
        return Verdict(True)


@pytest.fixture
def fourth():
    """Register "float32_loop" first in the auto order, with a function for every declared op; unregister after."""
    registry = backend.registry
    registry.register(Float32Only("float32_loop"), auto=0)
    for op, functions in registry.implementations.items():
        registry.implement(op, {"float32_loop": lambda *args, f=functions["reference"]: f(*args)})
    yield registry
    registry.unregister("float32_loop")


def every_op(dtype=torch.float32):
    """(op, positional inputs) for each public op, small."""
    gen = torch.Generator().manual_seed(5)
    q = torch.nn.functional.normalize(torch.randn(1, 6, 2, 8, generator=gen), dim=-1).to(dtype)
    k = torch.nn.functional.normalize(torch.randn(1, 6, 2, 8, generator=gen), dim=-1).to(dtype)
    v = torch.randn(1, 6, 2, 8, generator=gen).to(dtype)
    g, beta = -torch.rand(1, 6, 2, generator=gen).to(dtype), torch.rand(1, 6, 2, generator=gen).to(dtype)
    gk = -torch.rand(1, 6, 2, 8, generator=gen).to(dtype)
    x, w = torch.randn(1, 6, 4, generator=gen).to(dtype), torch.randn(4, 3, generator=gen).to(dtype)
    return [
        ("gated_delta", kernels.gated_delta, (q, k, v, g, beta)),
        ("kda", kernels.kda, (q, k, v, gk, beta)),
        ("lightning", kernels.lightning, (q, k, v, torch.tensor([0.1, 0.2], dtype=dtype))),
        ("short_conv", kernels.short_conv, (x, w)),
    ]


def on_cuda():
    """A stand-in for a CUDA tensor (what the verifiers read: device, is_cuda, requires_grad)."""
    return types.SimpleNamespace(is_cuda=True, device=torch.device("cuda", 0), requires_grad=False)


def test_built_in_backends_and_auto_order():
    assert kernels.BACKENDS == BUILT_IN
    assert backend.registry.auto_order == ["fla", "torch"]
    assert sorted(backend.registry.implementations) == ["gated_delta", "kda", "lightning", "short_conv"]
    for op, functions in backend.registry.implementations.items():
        routes = ["fla:kda"] if op == "gated_delta" else []  # fla's gated delta rule through its KDA kernels (#640)
        assert list(functions) == ["reference", "torch", "fla", *routes]


def test_auto_takes_fla_on_cuda_when_installed_else_torch(monkeypatch):
    assert kernels.resolve("auto", torch.zeros(1), op="kda") == "torch"  # fla refuses CPU tensors
    monkeypatch.setattr(fla_backend, "fla_available", lambda: True)
    assert kernels.resolve("auto", on_cuda(), None, op="kda") == "fla"
    monkeypatch.setattr(fla_backend, "fla_available", lambda: False)
    assert kernels.resolve("auto", on_cuda(), None, op="kda") == "torch"  # fla refuses: not installed


def test_an_explicit_backend_that_cannot_serve_raises_its_reason(monkeypatch):
    with pytest.raises(ValueError) as info:
        kernels.resolve("fla", torch.zeros(1))
    assert str(info.value) == "backend 'fla' needs CUDA tensors; got cpu. Use backend='torch' or 'auto'."
    monkeypatch.setattr(fla_backend, "fla_available", lambda: False)
    with pytest.raises(ValueError) as info:
        kernels.resolve("fla", on_cuda())
    assert str(info.value) == (
        "backend 'fla' needs flash-linear-attention, which is not installed: "
        "pip install 'hybrid-eval[gpu]' (or use backend='torch' or 'auto')."
    )


def test_a_fourth_backend_serves_every_op_without_editing_it(fourth):
    kernels.calls.clear()
    for op, run, args in every_op():
        got, want = run(*args, backend="float32_loop"), run(*args, backend="reference")
        assert torch.equal(got[0], want[0]), op
    assert kernels.calls == {
        **{(op, "float32_loop"): 1 for op in ("gated_delta", "kda", "lightning", "short_conv")},
        **{(op, "reference"): 1 for op in ("gated_delta", "kda", "lightning", "short_conv")},
    }
    assert kernels.BACKENDS == (*BUILT_IN, "float32_loop")
    assert fourth.auto_order == ["float32_loop", "fla", "torch"]
    kernels.calls.clear()
    for op, run, args in every_op():
        run(*args)  # "auto": the new backend comes first and serves float32
    for op, run, args in every_op(torch.float64):
        run(*args)  # it refuses float64, so "auto" moves on to torch
        with pytest.raises(ValueError) as info:
            run(*args, backend="float32_loop")
        assert str(info.value) == "backend 'float32_loop' needs float32 tensors; got torch.float64."
    assert kernels.calls == {
        **{(op, "float32_loop"): 1 for op in ("gated_delta", "kda", "lightning", "short_conv")},
        **{(op, "torch"): 1 for op in ("gated_delta", "kda", "lightning", "short_conv")},
    }


def test_unregistering_restores_the_built_in_state():
    registry = backend.registry
    registry.register(Float32Only("float32_loop"), auto=0)
    registry.implement("kda", {"float32_loop": registry.implementations["kda"]["reference"]})
    previous = kernels.set_backend("float32_loop")
    assert kernels.get_backend() == "float32_loop"
    registry.unregister("float32_loop")
    assert kernels.get_backend() == "auto"  # a run default naming it goes back to per-call choice
    kernels.set_backend(previous)
    assert kernels.BACKENDS == BUILT_IN and registry.auto_order == ["fla", "torch"]
    assert all("float32_loop" not in functions for functions in registry.implementations.values())
    with pytest.raises(ValueError) as info:
        kernels.kda(*every_op()[1][2], backend="float32_loop")
    assert str(info.value) == "unknown kernel backend 'float32_loop'; accepted: 'auto', 'reference', 'torch', 'fla'."


def test_registry_refusals_are_one_line():
    """On a fresh registry: taken names, functions for unknown backends, ops a backend has no function for, and
    "auto" when no backend serves."""
    registry = Registry()
    registry.register(Backend("torch"), auto=0)
    with pytest.raises(ValueError) as info:
        registry.register(Backend("torch"))
    assert str(info.value) == "kernel backend name 'torch' is taken; taken: auto, torch."
    with pytest.raises(ValueError) as info:
        registry.register(Backend("auto"))
    assert str(info.value) == "kernel backend name 'auto' is taken; taken: auto, torch."
    with pytest.raises(ValueError) as info:
        registry.implement("kda", {"fla": len})
    assert str(info.value) == "kda: no kernel backend 'fla' is registered; registered: torch."
    with pytest.raises(ValueError) as info:
        registry.dispatch("kda", "torch", (torch.zeros(1),))
    assert str(info.value) == "backend 'torch' has no kda implementation."
    with pytest.raises(ValueError) as info:
        registry.dispatch("kda", "auto", (torch.zeros(1),))
    assert str(info.value) == "no kernel backend serves this kda: backend 'torch' has no kda implementation."
    with pytest.raises(ValueError) as info:
        registry.unregister("fla")
    assert str(info.value) == "no kernel backend 'fla' is registered; registered: torch."


def test_a_verdict_naming_a_backward_backend_pairs_the_two():
    """Generic pairing on a fresh registry: "fast" serves the forward only and names "slow" for gradients; the
    outputs are fast's, the gradients slow's, counted as ("double", "fast+slow_backward")."""
    registry = Registry()
    registry.register(Backend("slow"))
    fast = registry.register(Backend("fast"), auto=0)
    fast.verify = lambda op, tensors, grad: Verdict(True, "forward only", "slow" if grad else None)
    registry.implement("double", {"fast": lambda x: (x.detach() * 2 + 1, None), "slow": lambda x: (x * 3, None)})
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    o, state = registry.dispatch("double", "auto", (x,))(x)
    o.sum().backward()
    assert torch.equal(o, torch.tensor([3.0, 5.0])) and state is None
    assert torch.equal(x.grad, torch.tensor([3.0, 3.0]))  # d(3x)/dx, not fast's 2
    assert registry.calls == {("double", "fast+slow_backward"): 1}
