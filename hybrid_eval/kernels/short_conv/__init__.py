"""Causal depthwise short convolution (the conv before q/k/v in Qwen3-Next and Kimi Linear): one API, three backends.

    y_t[c] = act( sum_j weight[c, j] x_{t-W+1+j}[c] + bias[c] ),  previous inputs from ``state``

``reference.py`` is the specification (a token loop, backend ``"reference"``), ``torch_chunked.py`` one grouped
``conv1d`` (backend ``"torch"``), ``fla.py`` fla's Triton ``causal_conv1d`` (backend ``"fla"``, CUDA); this file
declares them to the backend registry (``kernels/backend.py``), which picks one per call.
"""

from __future__ import annotations

import torch

from hybrid_eval.kernels import backend as _backend
from hybrid_eval.kernels.checks import check_tensor
from hybrid_eval.kernels.short_conv.fla import short_conv_fla
from hybrid_eval.kernels.short_conv.reference import short_conv_reference
from hybrid_eval.kernels.short_conv.torch_chunked import short_conv_chunked

__all__ = ["short_conv", "short_conv_chunked", "short_conv_fla", "short_conv_reference"]

_backend.registry.implement(
    "short_conv", {"reference": short_conv_reference, "torch": short_conv_chunked, "fla": short_conv_fla}
)

ACTIVATIONS = (None, "silu", "swish")


def short_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    activation: str | None = None,
    state: torch.Tensor | None = None,
    output_final_state: bool = False,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Causal depthwise conv over time with a carried state; returns ``(y, new_state)``.

        y_t[c] = act( sum_{j=0}^{W-1} weight[c, j] * x_{t-W+1+j}[c] + bias[c] )

    Inputs before the first token come from ``state`` (zeros if None). Matches transformers'
    ``causal_conv1d_fn`` (no state) and ``causal_conv1d_update`` (with state) in ``models/qwen3_next``.

    Args:
        x: (B, T, C).
        weight: (C, W), ``weight[:, -1]`` multiplies the current token (``nn.Conv1d.weight.squeeze(1)``).
        bias: (C,) or None.
        activation: None or "silu" ("swish" is the same).
        state: (B, C, W-1), the previous W-1 inputs, oldest first; None for zeros.
        output_final_state: return the last W-1 inputs (for the next call), else None.
        backend: "auto" | "reference" | "torch" | "fla", or any registered backend (``kernels.backend``).

    Returns:
        y: (B, T, C) in x's dtype; new_state: (B, C, W-1) in x's dtype, or None.
    """
    op = "short_conv"
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point():
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{op}: x must be a floating-point tensor [B, T, C]; got {got}.")
    B, T, C = x.shape
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.shape[0] != C:
        got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"{op}: weight must be [C, W] with C = {C}; got {got}.")
    W = weight.shape[1]
    check_tensor(op, "weight", weight, (C, W), x.device)
    if bias is not None:
        check_tensor(op, "bias", bias, (C,), x.device)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of None, 'silu', 'swish'; got {activation!r}.")
    if state is not None:
        check_tensor(op, "state", state, (B, C, W - 1), x.device)
    run = _backend.dispatch(op, backend, (x, weight, bias, state))
    return run(x, weight, bias, activation, state, output_final_state)
