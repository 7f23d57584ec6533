"""Run the linear layers of transformers' Qwen3-Next, Kimi Linear and MiniMax through our kernels (kernels/).

transformers chooses its linear-attention kernels once, at import time: the torch fallbacks, or
flash-linear-attention's Triton kernels whenever fla is importable, even for CPU tensors. :func:`bind` replaces
those choices, for every model of these architectures in the process (probes and pretrained checkpoints alike),
with calls to ``kernels.gated_delta`` / ``kernels.kda`` / ``kernels.lightning`` / ``kernels.short_conv`` at
``backend="auto"``, so the backend is decided per call from the tensors' device and the run's
``kernels.backend`` (``kernels.set_backend``), and every call is counted in ``kernels.calls``.

- Qwen3-Next (Gated DeltaNet) and Kimi Linear (KDA): the layers call module-level functions
  (``torch_chunk_gated_delta_rule`` / ``torch_recurrent_gated_delta_rule``, ``chunk_kimi_delta_attention`` /
  ``recurrent_kimi_delta_attention``, ``causal_conv1d_fn`` / ``causal_conv1d_update``) with the same signature in
  transformers 5.17 and 5.24; those module globals are replaced by adapters. The layers' projections, gates,
  norms and cache handling stay transformers' (but for the Kimi gate's numerics, below).
- Kimi Linear's forget gate (one numerical fix, not a kernel): ``KimiLinearForgetGate.forward`` computes its
  softplus as ``where(g > 20, g, log(1 + exp(g)))``; once a pre-activation passes ~88.7, ``exp`` overflows in
  float32 and the discarded branch's gradient is ``0 * inf = NaN``, which gradient clipping spreads to every weight.
  Its replacement computes the same value with ``F.softplus`` (reports/probe-training.md §10).
- MiniMax (lightning attention): transformers' layer runs a Python loop over 256-token blocks (one token at a
  time when a state exists); its ``forward`` is replaced by one that makes the same projections and calls
  ``kernels.lightning`` once over the whole segment, prefill or decode.

:func:`transformers_default` undoes the binding inside a ``with`` block (benchmarks and tests compare both).
"""
from __future__ import annotations

import contextlib
import importlib

import torch
import torch.nn.functional as F

from hybrid_eval import kernels

_MODULES = {
    "qwen3_next": "transformers.models.qwen3_next.modeling_qwen3_next",
    "kimi_linear": "transformers.models.kimi_linear.modeling_kimi_linear",
    "minimax": "transformers.models.minimax.modeling_minimax",
}
_originals: dict[tuple[object, str], object] = {}  # (module or class, attribute) -> transformers' own


def l2norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(|x|^2 + eps) in float32, as transformers and fla normalise q and k (returned in x's dtype)."""
    xf = x.float()
    return (xf * torch.rsqrt((xf * xf).sum(-1, keepdim=True) + eps)).to(x.dtype)


def _no_varlen(kwargs: dict) -> None:
    for key in ("cu_seqlens", "cu_seq_lens_q"):
        if kwargs.get(key) is not None:
            raise ValueError(f"packed sequences ({key}) are not supported by hybrid-eval's kernels; pass a padded batch.")


def _state(initial_state: torch.Tensor | None) -> torch.Tensor | None:
    return None if initial_state is None else initial_state.float()


def _delta_rule(op):
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
        return op(query.to(dtype), key.to(dtype), value, g, beta, initial_state=_state(initial_state),
                  output_final_state=output_final_state)

    adapter.__name__ = f"{op.__name__}_adapter"
    return adapter


gated_delta_rule = _delta_rule(kernels.gated_delta)
kimi_delta_attention = _delta_rule(kernels.kda)


def kimi_recurrent(query, key, value, g, beta, initial_state, output_final_state, use_qk_l2norm_in_kernel=False,
                   **kwargs):
    """``recurrent_kimi_delta_attention`` takes initial_state and output_final_state positionally."""
    return kimi_delta_attention(query, key, value, g, beta, initial_state=initial_state,
                                output_final_state=output_final_state,
                                use_qk_l2norm_in_kernel=use_qk_l2norm_in_kernel, **kwargs)


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


def kimi_forget_gate(self, hidden_states: torch.Tensor) -> torch.Tensor:
    """``KimiLinearForgetGate.forward``: the per-channel log decay ``-exp(A_log) * softplus(f_b(f_a(x)) + dt_bias)``,
    as transformers computes it but with a finite gradient for every pre-activation (``F.softplus`` is linear past
    its threshold, 20, as transformers' ``where`` is, without evaluating ``exp`` there)."""
    shape = (*hidden_states.shape[:2], -1, self.head_dim)
    g = (self.f_b_proj(self.f_a_proj(hidden_states)).float() + self.dt_bias.float().view(1, 1, -1)).view(shape)
    return -self.A_log.float().exp() * F.softplus(g, threshold=20.0)


def lightning_forward(self, hidden_states, position_embeddings=None, attention_mask=None, cache=None,
                      past_key_values=None, **kwargs):
    """``MiniMaxLightningAttention.forward`` over ``kernels.lightning``: same projections, norm, gate and cache
    (the K^T V state, kept in the model's dtype as transformers does), one kernel call per segment."""
    modeling = importlib.import_module(_MODULES["minimax"])
    cache = cache if cache is not None else past_key_values
    batch, length, _ = hidden_states.shape
    heads, dim = self.num_attention_heads, self.head_dim
    qkv = self.act_fn(self.qkv_proj(hidden_states))
    qkv = modeling.apply_mask_to_padding_states(qkv, attention_mask)
    query, key, value = torch.split(qkv.reshape(batch, length, heads, 3 * dim), dim, dim=3)
    state = cache.get_linear_cache(self.layer_idx) if cache is not None else None
    state = state if isinstance(state, torch.Tensor) else None
    out, state = kernels.lightning(query, key, value, self.slope_rate.reshape(heads).float(), scale=1.0,
                                   initial_state=_state(state), output_final_state=True)
    out = self.norm(out.reshape(batch, length, heads * dim))
    out = self.out_proj(F.sigmoid(self.output_gate(hidden_states)) * out)
    state = state.to(value.dtype)
    if cache is not None:
        cache.set_linear_cache(self.layer_idx, state)
    return out, state


def _replacements():
    """(owner, attribute, ours) for every transformers function or method the binding replaces."""
    qwen = importlib.import_module(_MODULES["qwen3_next"])
    kimi = importlib.import_module(_MODULES["kimi_linear"])
    minimax = importlib.import_module(_MODULES["minimax"])
    return [
        (qwen, "torch_chunk_gated_delta_rule", gated_delta_rule),
        (qwen, "torch_recurrent_gated_delta_rule", gated_delta_rule),
        (qwen, "causal_conv1d_fn", causal_conv1d_fn),
        (qwen, "causal_conv1d_update", causal_conv1d_update),
        (kimi, "chunk_kimi_delta_attention", kimi_delta_attention),
        (kimi, "recurrent_kimi_delta_attention", kimi_recurrent),
        (kimi, "causal_conv1d_fn", causal_conv1d_fn),
        (kimi, "causal_conv1d_update", causal_conv1d_update),
        (kimi.KimiLinearForgetGate, "forward", kimi_forget_gate),
        (minimax.MiniMaxLightningAttention, "forward", lightning_forward),
    ]


def bind() -> None:
    """Route the three architectures' linear layers through kernels/ (idempotent; done when `models` is imported)."""
    for owner, name, ours in _replacements():
        current = getattr(owner, name)
        if current is ours:
            continue
        _originals.setdefault((owner, name), current)
        setattr(owner, name, ours)


def is_bound() -> bool:
    return all(getattr(owner, name) is ours for owner, name, ours in _replacements())


@contextlib.contextmanager
def transformers_default():
    """Inside the block, the linear layers run transformers' own kernels again (for comparisons)."""
    bound = is_bound()
    for owner, name, _ in _replacements():
        if (owner, name) in _originals:
            setattr(owner, name, _originals[(owner, name)])
    try:
        yield
    finally:
        if bound:
            bind()
