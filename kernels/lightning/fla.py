"""Lightning attention through flash-linear-attention 0.6.0 (CUDA only; imported on first call).

MiniMax's recurrence is simple GLA with a constant per-head log decay: ``chunk_simple_gla(q, k, v,
g_gamma=-lambda, scale=...)`` (DESIGN.md §5; fla's own ``chunk_lightning_attn`` uses a different decay schedule,
so it is not used). ``fused_recurrent_simple_gla`` serves short inputs without autograd (decoding; ``kernels.backend.run_fla`` chooses). The
backward passes ``g=None`` to fla's ``chunk_bwd_dqkwg``, so fla's Hopper/Triton refusal (issue #640) does not
apply here.
"""

from __future__ import annotations

import torch

from kernels.backend import run_fla


def lightning_fla(
    q: torch.Tensor,  # (B, T, H, K)
    k: torch.Tensor,  # (B, T, H, K)
    v: torch.Tensor,  # (B, T, H, V)
    decay: torch.Tensor,  # (H,) lambda_h >= 0
    scale: float,
    initial_state: torch.Tensor | None = None,  # (B, H, K, V) float32
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    from fla.ops.simple_gla import chunk_simple_gla, fused_recurrent_simple_gla

    g_gamma = -decay.to(device=q.device, dtype=torch.float32)  # (H,) log decay per token
    return run_fla(chunk_simple_gla, fused_recurrent_simple_gla, q, k, v, scale, initial_state, output_final_state,
                   g_gamma=g_gamma)
