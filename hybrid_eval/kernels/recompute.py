"""Forward with one backend, backward with another: fla's forward paired with the torch backend's gradients.

flash-linear-attention refuses the backward of its gated delta rule on Hopper GPUs with Triton >= 3.4, < 3.7.1
(``kernels.backends.fla.fla_backward_ok``, docs/design.md §9). Forward passes work there, so training keeps fla's
fast forward and gets its gradients by recomputing the op with the differentiable chunked torch form in the backward
pass (activation recomputation, as in gradient checkpointing): same recurrence, so the gradients are those of
the function fla computed, up to floating-point rounding. The registry (``kernels/registry.py``) pairs the two
when a backend's verdict names another backend for the backward, as the fla backend's does there.
"""

from __future__ import annotations

import torch


class _ForwardBackward(torch.autograd.Function):
    """``fast`` computes the outputs without autograd; ``backward`` differentiates ``slow`` on the same inputs."""

    @staticmethod
    def forward(ctx, fast, slow, layout, *tensors):
        args = _arguments(layout, tensors)
        with torch.no_grad():
            o, state = fast(*args)
        ctx.slow, ctx.layout = slow, layout
        ctx.save_for_backward(*tensors)
        ctx.has_state = state is not None
        return o, (state if state is not None else o.new_zeros(0))

    @staticmethod
    def backward(ctx, grad_o, grad_state):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad[3:]
        inputs = [t.detach().requires_grad_(need) if t is not None else None for t, need in zip(saved, needs)]
        with torch.enable_grad():
            o, state = ctx.slow(*_arguments(ctx.layout, inputs))
        outputs, grads = [o], [grad_o]
        if ctx.has_state and state is not None and grad_state is not None and grad_state.numel():
            outputs.append(state)
            grads.append(grad_state)
        wanted = [t for t, need in zip(inputs, needs) if need]
        got = iter(torch.autograd.grad(outputs, wanted, grads, allow_unused=True))
        return (None, None, None, *[next(got) if need else None for need in needs])


def _arguments(layout, tensors):
    """Positional arguments: tensors fill the slots marked None in `layout`, other slots keep their value."""
    it = iter(tensors)
    return [next(it) if slot is _TENSOR else slot for slot in layout]


_TENSOR = object()  # marks a positional slot that holds a tensor (or None in a tensor slot)


def forward_backward(fast, slow):
    """A function with `fast`'s signature whose forward runs `fast` and whose backward differentiates `slow`.

    Positional arguments that are tensors or None (e.g. ``initial_state``) pass through autograd; the rest
    (scale, flags) are constants. Returns ``(o, final_state)`` like the ops, final_state None when `fast` gave None.
    """

    def run(*args):
        layout = [_TENSOR if a is None or isinstance(a, torch.Tensor) else a for a in args]
        tensors = [a for a in args if a is None or isinstance(a, torch.Tensor)]
        o, state = _ForwardBackward.apply(fast, slow, layout, *tensors)
        return o, (state if state.numel() else None)

    return run
