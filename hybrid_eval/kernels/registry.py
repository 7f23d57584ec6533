"""A registry of kernel backends: which backend runs one call of an op, chosen per call (docs/design.md §5).

The idea is flash-linear-attention's backend dispatch (``fla/ops/backends``): every backend is one object,
registered by name, whose verifier says whether it can serve a given call and, when it cannot, why, in one line;
dispatch takes the first backend, in a stated order, whose verifier accepts the call. Here:

- a :class:`Backend` answers :meth:`Backend.verify` for (op, tensors, whether gradients are needed) with a
  :class:`Verdict`: serves or not, the one-line reason, and optionally the backend whose differentiable form
  gives the gradients (the forward stays this backend's; the backward is recomputed, :mod:`kernels.recompute`),
  or a *route*: another of this backend's functions for the op that serves this call whole (fla's gated delta rule
  through its KDA kernels where its own backward is refused), declared as ``"<backend>:<route>"``;
- ops declare their functions with :meth:`Registry.implement` (``{backend name: function}``), and a new backend
  adds its own the same way, so no op's public function names a backend;
- ``"auto"`` is the run default when :meth:`Registry.set_default` named a backend, else the first backend of
  :attr:`Registry.auto_order` that serves the call;
- :meth:`Registry.dispatch` counts every call it hands out in :attr:`Registry.calls`, keyed ``(op, backend)``.

This module holds the mechanism only; ``kernels/backend.py`` holds this package's registry and its backends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from hybrid_eval.kernels.recompute import forward_backward

AUTO = "auto"  # not a backend: the per-call choice


class Verdict(NamedTuple):
    """A backend's answer for one call."""

    serves: bool  # whether the backend can run the call
    reason: str = ""  # one line: why not (the ValueError's text when the backend was asked for), or a note
    backward: str | None = None  # set: the forward only; gradients from this backend's function, recomputed
    route: str | None = None  # set: run the op's function declared as "<backend>:<route>" instead of the backend's own


SERVES = Verdict(True)  # the common answer, built once (dispatch runs on every call of every op)


class Backend:
    """One way to run the ops, registered by ``name``. This base serves every call an op has declared a function
    for; subclasses override :meth:`verify` to refuse calls they cannot run (device, missing package, ...)."""

    def __init__(self, name: str):
        self.name = name

    def verify(self, op: str | None, tensors: Sequence[torch.Tensor | None], grad: bool) -> Verdict:
        """Whether this backend can run ``op`` (None: any op) on ``tensors`` (None entries allowed), with
        gradients wanted (``grad``) or not."""
        return SERVES

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def needs_grad(tensors: Sequence[torch.Tensor | None]) -> bool:
    """Whether autograd will want gradients through an op called on ``tensors`` (None entries allowed)."""
    if not torch.is_grad_enabled():
        return False
    for t in tensors:
        if t is not None and t.requires_grad:
            return True
    return False


def paired(forward: str, backward: str) -> str:
    """The name in ``calls`` of one backend's forward with another's backward, e.g. ``"fla+torch_backward"``."""
    return f"{forward}+{backward}_backward"


class Registry:
    """Backends by name, the ops' functions per backend, the order ``"auto"`` tries, the run default, the counts.

    The run default is the one piece of run-wide state: ``set_default("torch")`` makes ``"auto"`` mean
    ``"torch"`` for every later call (the run config's ``kernels.backend``); ``set_default("auto")`` restores the
    per-call choice. An explicit backend in a call always wins over the default.
    """

    def __init__(self) -> None:
        self.backends: dict[str, Backend] = {}  # name -> backend, in registration order
        self.auto_order: list[str] = []  # names "auto" tries, first to last
        self.implementations: dict[str, dict[str, Callable]] = {}  # op -> {backend name: function}
        self.calls: Counter = Counter()  # (op, backend) -> number of calls, e.g. calls[("gated_delta", "torch")]
        self.default = AUTO

    def register(self, backend: Backend, auto: int | None = None) -> Backend:
        """Add ``backend``; ``auto``: its position in the order "auto" tries (0 = first), None: never by "auto"."""
        if backend.name == AUTO or backend.name in self.backends:
            raise ValueError(f"kernel backend name {backend.name!r} is taken; taken: {', '.join(self.names())}.")
        self.backends[backend.name] = backend
        if auto is not None:
            self.auto_order.insert(auto, backend.name)
        return backend

    def unregister(self, name: str) -> Backend:
        """Remove a backend and every op's function for it; a run default naming it goes back to "auto"."""
        if name not in self.backends:
            raise ValueError(f"no kernel backend {name!r} is registered; registered: {', '.join(self.backends)}.")
        if name in self.auto_order:
            self.auto_order.remove(name)
        for functions in self.implementations.values():
            for key in [k for k in functions if k.split(":")[0] == name]:
                functions.pop(key)
        if self.default == name:
            self.default = AUTO
        return self.backends.pop(name)

    def implement(self, op: str, functions: dict[str, Callable]) -> None:
        """Declare ``op``'s function for each named backend (all share the op's positional signature); a name
        ``"<backend>:<route>"`` declares one of the backend's alternative functions, run when its verdict names
        the route."""
        for name in functions:
            if name.split(":")[0] not in self.backends:
                registered = ", ".join(self.backends)
                raise ValueError(f"{op}: no kernel backend {name.split(':')[0]!r} is registered; registered: {registered}.")
        self.implementations.setdefault(op, {}).update(functions)

    def names(self) -> tuple[str, ...]:
        """Every name a call accepts: "auto", then the backends in registration order."""
        return (AUTO, *self.backends)

    def check_name(self, name: str) -> str:
        if name != AUTO and name not in self.backends:
            accepted = ", ".join(repr(b) for b in self.names())
            raise ValueError(f"unknown kernel backend {name!r}; accepted: {accepted}.")
        return name

    def set_default(self, name: str) -> str:
        """Set what ``backend="auto"`` resolves to for the rest of the run; return the previous default."""
        previous, self.default = self.default, self.check_name(name)
        return previous

    def get_default(self) -> str:
        """The run default ("auto" unless :meth:`set_default` changed it)."""
        return self.default

    def verdict(self, name: str, op: str | None, tensors: Sequence[torch.Tensor | None], grad: bool) -> Verdict:
        """Backend ``name``'s verdict on the call; a backend with no function for ``op`` cannot serve it."""
        if op is not None and name not in self.implementations.get(op, ()):
            return Verdict(False, f"backend {name!r} has no {op} implementation.")
        return self.backends[name].verify(op, tensors, grad)

    def choose(
        self, backend: str, tensors: Sequence[torch.Tensor | None], op: str | None = None, grad: bool = False
    ) -> tuple[str, Verdict]:
        """The backend that runs the call and its verdict. A named backend (or run default) that cannot serve
        the call raises ``ValueError`` with its reason; "auto" takes the first of :attr:`auto_order` that can."""
        name = self.check_name(backend)
        if name == AUTO:
            name = self.default
        if name != AUTO:
            verdict = self.verdict(name, op, tensors, grad)
            if not verdict.serves:
                raise ValueError(verdict.reason)
            return name, verdict
        refusals = []
        for candidate in self.auto_order:
            verdict = self.verdict(candidate, op, tensors, grad)
            if verdict.serves:
                return candidate, verdict
            refusals.append(verdict.reason)
        raise ValueError(f"no kernel backend serves this {op or 'call'}: {' '.join(refusals) or 'none registered'}")

    def resolve(self, backend: str, *tensors: torch.Tensor | None, op: str | None = None) -> str:
        """The concrete backend name that ``backend`` means for a call on these tensors (of ``op``, if given)."""
        return self.choose(backend, tensors, op, needs_grad(tensors))[0]

    def dispatch(self, op: str, backend: str, tensors: Sequence[torch.Tensor | None]) -> Callable:
        """The function that runs ``op`` on ``tensors`` (every tensor input, None allowed) with ``backend``, counted
        in :attr:`calls`. When the chosen backend's verdict names a ``backward`` backend (fla's does when gradients
        are needed and its backward cannot run here), the function pairs the two
        (:func:`kernels.recompute.forward_backward`), counted as ``(op, "<forward>+<backward>_backward")``; when it
        names a ``route``, the backend's function declared as ``"<backend>:<route>"`` runs, counted under that name."""
        name, verdict = self.choose(backend, tensors, op, needs_grad(tensors))
        if verdict.route is not None:
            name = f"{name}:{verdict.route}"
            if name not in self.implementations[op]:
                raise ValueError(f"backend {name.split(':')[0]!r} routes {op} to {name!r}, which is not declared.")
        run = self.implementations[op][name]
        if verdict.backward is not None:
            slow = self.implementations[op].get(verdict.backward)
            if slow is None:
                raise ValueError(f"backend {name!r} wants {verdict.backward!r} for {op}'s backward, which has none.")
            name, run = paired(name, verdict.backward), forward_backward(run, slow)
        self.calls[(op, name)] += 1
        return run
