"""Run the linear layers of transformers' hybrid architectures through our kernels (kernels/).

transformers chooses its linear-attention kernels once, at import time: the torch fallbacks, or
flash-linear-attention's Triton kernels whenever fla is importable, even for CPU tensors. :func:`bind` replaces
those choices, for every model of the bound architectures in the process (probes and pretrained checkpoints alike),
with calls to ``kernels.gated_delta`` / ``kernels.kda`` / ``kernels.lightning`` / ``kernels.short_conv`` at
``backend="auto"``, so the backend is decided per call from the tensors' device and the run's
``kernels.backend`` (``kernels.set_backend``), and every call is counted in ``kernels.calls``.

Each family declares what it replaces (``Family.modeling``, the transformers module, and ``Family.binding``,
attribute -> ours) in its own module; :func:`bind` applies every registered family's declaration. This module
holds only what several families share: the adapters from transformers' kernel signatures to ours (the
delta-rule signature of ``torch_chunk_gated_delta_rule`` / ``chunk_kimi_delta_attention``, the causal conv
functions, ``l2norm``). Family-specific adapters live with their family: Qwen3-Next's Gated DeltaNet in
models/qwen3_next.py, Kimi's KDA and forget-gate fix in models/kimi_linear.py, MiniMax's lightning forward in
models/minimax.py.

:func:`transformers_default` undoes the binding inside a ``with`` block (benchmarks and tests compare both).
"""
from __future__ import annotations

import contextlib
import importlib

import torch

from hybrid_eval import kernels

_originals: dict[tuple[object, str], object] = {}  # (module or class, attribute) -> transformers' own


def l2norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(|x|^2 + eps) in float32, as transformers and fla normalise q and k (returned in x's dtype)."""
    xf = x.float()
    return (xf * torch.rsqrt((xf * xf).sum(-1, keepdim=True) + eps)).to(x.dtype)


def _no_varlen(kwargs: dict) -> None:
    for key in ("cu_seqlens", "cu_seq_lens_q"):
        if kwargs.get(key) is not None:
            raise ValueError(f"packed sequences ({key}) are not supported by hybrid-eval's kernels; pass a padded batch.")


def state_float(initial_state: torch.Tensor | None) -> torch.Tensor | None:
    """A carried state as our kernels take it: float32 (transformers may hand it in the model dtype)."""
    return None if initial_state is None else initial_state.float()


def delta_rule(op):
    """Adapter from transformers' delta-rule kernel signature (``torch_chunk_gated_delta_rule`` and
    ``torch_recurrent_gated_delta_rule``; Kimi's ``chunk_kimi_delta_attention``) to ``op`` (``kernels.gated_delta``
    or ``kernels.kda``); the chunk size is the backend's own. transformers normalises q/k in float32 inside its
    kernels when asked (``use_qk_l2norm_in_kernel``); ours take them normalised, so the adapter does it."""

    def adapter(query, key, value, g, beta, chunk_size=64, initial_state=None, output_final_state=False,
                use_qk_l2norm_in_kernel=False, **kwargs):
        _no_varlen(kwargs)
        if use_qk_l2norm_in_kernel:
            query, key = l2norm(query), l2norm(key)
        dtype = value.dtype
        return op(query.to(dtype), key.to(dtype), value, g, beta, initial_state=state_float(initial_state),
                  output_final_state=output_final_state)

    adapter.__name__ = f"{op.__name__}_adapter"
    return adapter


def causal_conv1d_fn(hidden_states, weight, bias=None, activation=None, **kwargs):
    """transformers' ``causal_conv1d_fn``: x (B, C, T) channel-first, no carried state -> ``kernels.short_conv``."""
    y, _ = kernels.short_conv(hidden_states.transpose(1, 2), weight, bias=bias, activation=activation)
    return y.transpose(1, 2)


def causal_conv1d_update(hidden_states, conv_state, weight, bias=None, activation=None):
    """transformers' ``causal_conv1d_update``: x (B, C, T) on top of ``conv_state`` (B, C, S), S >= W - 1, which
    is updated in place to its last S inputs (transformers keeps S = W columns)."""
    width = weight.shape[-1]
    size = conv_state.shape[-1]
    previous = conv_state[:, :, size - (width - 1):].to(hidden_states.dtype)
    y, _ = kernels.short_conv(hidden_states.transpose(1, 2), weight, bias=bias, activation=activation,
                              state=previous)
    conv_state.copy_(torch.cat([conv_state, hidden_states.to(conv_state.dtype)], dim=-1)[:, :, -size:])
    return y.transpose(1, 2)


def replacements() -> list[tuple[object, str, object]]:
    """(owner, attribute, ours) for every registered family's `binding`, owners resolved in its `modeling` module."""
    import hybrid_eval.models.catalog  # noqa: F401  (registers the built-in families)
    from hybrid_eval.models.family import FAMILIES

    out = []
    for family in FAMILIES.values():
        if not family.binding:
            continue
        module = importlib.import_module(family.modeling)
        for path, ours in family.binding.items():
            *owners, name = path.split(".")
            owner = module
            for attr in owners:
                owner = getattr(owner, attr)
            out.append((owner, name, ours))
    return out


def bind() -> None:
    """Route every registered family's linear layers through kernels/ (idempotent; done when `models` is imported)."""
    for owner, name, ours in replacements():
        current = getattr(owner, name)
        if current is ours:
            continue
        _originals.setdefault((owner, name), current)
        setattr(owner, name, ours)


def is_bound() -> bool:
    return all(getattr(owner, name) is ours for owner, name, ours in replacements())


@contextlib.contextmanager
def transformers_default():
    """Inside the block, the linear layers run transformers' own kernels again (for comparisons)."""
    bound = is_bound()
    for owner, name, _ in replacements():
        if (owner, name) in _originals:
            setattr(owner, name, _originals[(owner, name)])
    try:
        yield
    finally:
        if bound:
            bind()
