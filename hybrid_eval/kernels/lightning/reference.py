"""Lightning attention (MiniMax-01), token by token in float32: the specification the other backends follow.

Per head h, state S in R^{K x V}, a constant decay lambda_h >= 0 (MiniMax-01, 2025; docs/design.md §5):

    S_t = e^{-lambda_h} S_{t-1} + k_t v_t^T
    o_t = scale * S_t^T q_t

MiniMax multiplies q . k unscaled, so its caller passes ``scale=1.0``; transformers' ``MiniMaxLightningAttention``
computes lambda_h = 2^{-8(h+1)/H} (1 - l/(L-1+1e-5) + 1e-5) for layer l of L, and the tests check this
recurrence against that module's forward.
"""

from __future__ import annotations

import torch


def lightning_reference(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, H, V)
    decay: torch.Tensor,  # (H,) lambda_h >= 0
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, H, K, V) float32
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, T, H, K = q.shape
    V = v.shape[3]
    dtype = v.dtype
    q, k, v = (x.float() for x in (q, k, v))
    keep = torch.exp(-decay.float())[None, :, None, None]  # (1, H, 1, 1) e^{-lambda_h}
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float()
    outputs = []
    for t in range(T):
        S = keep * S + torch.einsum("bhk,bhv->bhkv", k[:, t], v[:, t])
        outputs.append(torch.einsum("bhk,bhkv->bhv", q[:, t] * scale, S))
    o = torch.stack(outputs, dim=1) if T else v.new_zeros(B, 0, H, V)  # (B, T, H, V)
    return o.to(dtype), (S if output_final_state else None)
