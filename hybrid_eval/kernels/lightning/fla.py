"""Lightning attention through flash-linear-attention 0.6.0 (CUDA only; fla imported on first call).

MiniMax's recurrence is simple GLA with a constant per-head log decay: ``chunk_simple_gla(q, k, v,
g_gamma=-lambda, scale=...)`` (docs/design.md §5; fla's own ``chunk_lightning_attn`` uses a different decay
schedule, so it is not used). ``fused_recurrent_simple_gla`` serves short inputs without autograd (decoding;
``kernels.backends.fla.run_fla`` chooses). The backward passes ``g=None`` to fla's ``chunk_bwd_dqkwg``, so fla's
Hopper/Triton refusal (issue #640) does not apply here.

A fla 0.6.0 defect, measured on an H200 (Triton 3.6.0, 2026-11-27, reports/kernels/README.md): the chunk kernel
returns a NaN final state for a head whose decay is exactly 0 at some lengths past one chunk (T = 65, 66, 80,
129, 130, 200, 1025; finite at 127, 128, 1000), while its outputs stay right (relative error 1.5e-3, TF32). So a
chunk call that asks for the final state checks it, and a non-finite one is recomputed with the torch backend
(one warning per shape). MiniMax's own decays are all > 0, so its layers are not known to hit the defect.
"""

from __future__ import annotations

import functools
import logging

import torch

from hybrid_eval.kernels.backends.fla import RECURRENT_MAX_T, run_fla
from hybrid_eval.kernels.lightning.torch_chunked import lightning_chunked

log = logging.getLogger(__name__)


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
    o, state = run_fla(chunk_simple_gla, fused_recurrent_simple_gla, q, k, v, scale, initial_state,
                       output_final_state, g_gamma=g_gamma)
    past_one_chunk = q.shape[1] > RECURRENT_MAX_T  # where the defect was seen; decode steps are not checked
    if state is not None and past_one_chunk and not _capturing(q) and not bool(torch.isfinite(state).all()):
        _warn_nonfinite(tuple(q.shape), tuple(round(x, 6) for x in decay.tolist()))
        return lightning_chunked(q, k, v, decay, scale, initial_state, output_final_state)
    return o, state


def _capturing(x: torch.Tensor) -> bool:
    return x.is_cuda and torch.cuda.is_current_stream_capturing()


@functools.cache
def _warn_nonfinite(shape: tuple[int, ...], decay: tuple[float, ...]) -> None:
    log.warning("lightning: fla's chunk_simple_gla returned a non-finite final state (q %s, decays %s; a known fla "
                "0.6.0 defect with a zero decay); recomputed with the torch backend", list(shape), decay)
