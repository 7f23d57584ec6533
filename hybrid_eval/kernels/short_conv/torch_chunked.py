"""Causal depthwise short convolution in PyTorch: one grouped ``conv1d`` over the whole sequence.

Same function as ``reference.py``: the carried state (or W-1 zeros) is prepended along time, then a
``conv1d`` with ``groups=C`` and no padding gives exactly T outputs. Computed in the weight's dtype, returned
in x's, as transformers' ``causal_conv1d_fn`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def short_conv_chunked(
    x: torch.Tensor,  # (B, T, C)
    weight: torch.Tensor,  # (C, W)
    bias: torch.Tensor | None = None,  # (C,)
    activation: str | None = None,  # None or "silu"
    state: torch.Tensor | None = None,  # (B, C, W-1) previous inputs, oldest first
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, C = x.shape
    W = weight.shape[1]
    xt = x.transpose(1, 2).to(weight.dtype)  # (B, C, T)
    if state is None:
        state = xt.new_zeros(B, C, W - 1)
    full = torch.cat([state.to(weight.dtype), xt], dim=-1)  # (B, C, W-1+T)
    bias = None if bias is None else bias.to(weight.dtype)  # a float32 bias beside bf16 weights, as fla accepts it
    y = F.conv1d(full, weight[:, None, :], bias, groups=C)  # (B, C, T)
    if activation in ("silu", "swish"):
        y = F.silu(y)
    new_state = full[:, :, full.shape[-1] - (W - 1) :].to(x.dtype) if output_final_state else None
    return y.transpose(1, 2).to(x.dtype), new_state
