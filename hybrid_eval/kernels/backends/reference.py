"""The ``"reference"`` backend: each op's token-by-token float32 loop (``kernels/<op>/reference.py``).

The specification the other backends are tested against. It serves every call on any device, gradients
included (autograd through the loop); it is slow, so ``"auto"`` never picks it.
"""

from hybrid_eval.kernels.registry import Backend

REFERENCE = Backend("reference")
