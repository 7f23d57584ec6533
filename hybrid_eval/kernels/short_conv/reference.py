"""Causal depthwise short convolution, token by token in float32: the specification.

Per channel c, with a window of the last W inputs (the W-1 previous ones come from ``state``, zeros if None):

    y_t[c] = act( sum_{j=0}^{W-1} weight[c, j] * x_{t-W+1+j}[c] + bias[c] )

so ``weight[:, -1]`` multiplies the current input. This is transformers' ``causal_conv1d_fn`` (zero left
padding) and ``causal_conv1d_update`` (window taken from a carried state) in ``models/qwen3_next``; the state
after the call holds the last W-1 inputs, oldest first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def short_conv_reference(
    x: torch.Tensor,  # (B, T, C)
    weight: torch.Tensor,  # (C, W)
    bias: torch.Tensor | None = None,  # (C,)
    activation: str | None = None,  # None or "silu"
    state: torch.Tensor | None = None,  # (B, C, W-1) previous inputs, oldest first
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, C = x.shape
    W = weight.shape[1]
    window = x.new_zeros(B, C, W - 1, dtype=torch.float32) if state is None else state.float()
    w = weight.float()
    ys = []
    for t in range(T):
        full = torch.cat([window, x[:, t, :, None].float()], dim=-1)  # (B, C, W) oldest first
        y = (full * w).sum(-1)  # (B, C)
        if bias is not None:
            y = y + bias.float()
        ys.append(F.silu(y) if activation in ("silu", "swish") else y)
        window = full[:, :, 1:]
    y = torch.stack(ys, dim=1) if T else x.new_zeros(B, 0, C, dtype=torch.float32)  # (B, T, C)
    return y.to(x.dtype), (window.to(x.dtype) if output_final_state else None)
