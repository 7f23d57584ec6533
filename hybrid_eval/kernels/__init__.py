"""Linear-attention ops for hybrid models, each with reference / torch / fla backends (DESIGN.md §5).

Layout ``[B, T, H, D]``; every op takes an optional float32 ``initial_state`` and returns
``(output, final_state)``, the state being None unless ``output_final_state=True``:

- :func:`lightning` (MiniMax): S_t = e^{-lambda_h} S_{t-1} + k_t v_t^T
- :func:`gated_delta` (Qwen3-Next): S_t = e^{g_t}(I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T
- :func:`kda` (Kimi Linear): S_t = (I - beta_t k_t k_t^T) Diag(e^{g_t}) S_{t-1} + beta_t k_t v_t^T
- :func:`short_conv`: causal depthwise conv with a carried state

with o_t = scale * S_t^T q_t. ``backend="auto"`` picks per call by the tensors' device (see
:mod:`kernels.backend`); :func:`set_backend` changes what "auto" means for a run, and :data:`calls` counts
which op ran on which backend.
"""

from hybrid_eval.kernels.backend import BACKENDS, calls, fla_available, fla_backward_ok, get_backend, resolve, set_backend
from hybrid_eval.kernels.gated_delta import gated_delta
from hybrid_eval.kernels.kda import kda
from hybrid_eval.kernels.lightning import lightning
from hybrid_eval.kernels.short_conv import short_conv

__all__ = [
    "BACKENDS",
    "calls",
    "fla_available",
    "fla_backward_ok",
    "gated_delta",
    "get_backend",
    "kda",
    "lightning",
    "resolve",
    "set_backend",
    "short_conv",
]
