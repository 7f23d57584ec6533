"""Linear-attention ops for hybrid models, each with reference / torch / fla backends (docs/design.md §5).

Layout ``[B, T, H, D]``; every op takes an optional float32 ``initial_state`` and returns
``(output, final_state)``, the state being None unless ``output_final_state=True``:

- :func:`lightning` (MiniMax): S_t = e^{-lambda_h} S_{t-1} + k_t v_t^T
- :func:`gated_delta` (Qwen3-Next): S_t = e^{g_t}(I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T
- :func:`kda` (Kimi Linear): S_t = (I - beta_t k_t k_t^T) Diag(e^{g_t}) S_{t-1} + beta_t k_t v_t^T
- :func:`short_conv`: causal depthwise conv with a carried state

with o_t = scale * S_t^T q_t. Files:

- ``<op>/`` one folder per op: ``__init__.py`` (the public function: argument checks, then the registry picks the
  backend), ``reference.py`` (the token-by-token float32 loop, the specification), ``torch_chunked.py`` (the
  chunked, vectorised PyTorch form) and ``fla.py`` (flash-linear-attention's kernels); the op's ``__init__``
  declares these three to the registry as ``{backend name: function}``;
- ``common/``: the chunk layout, masks and delta-rule scan the torch forms share (op folders never import each
  other);
- ``registry.py``: the mechanism: :class:`~hybrid_eval.kernels.registry.Backend` objects registered by name, each
  verifying whether it can serve a call (op, tensors, gradients needed) and if not why, in one line;
- ``backends/``: the backends ``reference``, ``torch`` (``torch_chunked.py``) and ``fla`` (whose verifier holds the
  Hopper backward check, :func:`fla_backward_ok`); ``backend.py`` registers them, states the order ``"auto"``
  tries them (fla on CUDA when installed, else torch) and holds the run default;
- ``recompute.py``: one backend's forward with another's backward (fla forward + torch backward, counted as
  ``(op, "fla+torch_backward")``); ``checks.py``: the ops' one-line argument errors.

``backend="auto"`` picks per call by the tensors (see :mod:`kernels.backend`); :func:`set_backend` changes what
"auto" means for a run, :data:`calls` counts which op ran on which backend, and :data:`BACKENDS` lists the names
accepted (read from the registry on each access).
"""

from hybrid_eval.kernels import backend as _backend
from hybrid_eval.kernels.backend import calls, calls_since, fla_available, fla_backward_ok, get_backend, resolve, set_backend
from hybrid_eval.kernels.gated_delta import gated_delta
from hybrid_eval.kernels.kda import kda
from hybrid_eval.kernels.lightning import lightning
from hybrid_eval.kernels.short_conv import short_conv


def __getattr__(name: str):
    if name == "BACKENDS":  # live, as kernels.backend.BACKENDS: "auto" and every registered backend
        return _backend.registry.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "calls",
    "calls_since",
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
