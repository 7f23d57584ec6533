"""Causal depthwise short convolution through flash-linear-attention 0.6.0 (CUDA only; fla imported on first call).

fla's ``causal_conv1d`` (``fla.modules.causal_conv1d`` in 0.6.0, ``fla.modules.convolution`` before) keeps a
state of the last W inputs, [B, C, W], of which its kernels read only the last W-1; ours is those W-1,
[B, C, W-1]. So the state goes in with one zero column prepended and comes out with its first column dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def short_conv_fla(
    x: torch.Tensor,  # (B, T, C)
    weight: torch.Tensor,  # (C, W)
    bias: torch.Tensor | None = None,  # (C,)
    activation: str | None = None,  # None or "silu"
    state: torch.Tensor | None = None,  # (B, C, W-1)
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    try:
        from fla.modules.causal_conv1d import causal_conv1d
    except ImportError:  # fla < 0.5
        from fla.modules.convolution import causal_conv1d

    initial_state = None if state is None else F.pad(state.to(x.dtype), (1, 0)).contiguous()  # (B, C, W)
    y, final = causal_conv1d(
        x, weight=weight, bias=bias, initial_state=initial_state,
        output_final_state=output_final_state, activation=activation,
    )
    return y, (final[:, :, 1:] if output_final_state else None)
