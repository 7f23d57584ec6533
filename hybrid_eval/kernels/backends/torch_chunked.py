"""The ``"torch"`` backend: each op's chunked, vectorised PyTorch form (``kernels/<op>/torch_chunked.py``).

Runs on CPU and GPU, differentiable by autograd, so it serves every call; ``"auto"`` takes it when fla cannot
serve the call (CPU tensors, fla not installed). Not named ``torch.py``: inside a package that also does
``import torch``, importing a submodule named ``torch`` would rebind the package's ``torch`` attribute.
"""

from hybrid_eval.kernels.registry import Backend

TORCH = Backend("torch")
