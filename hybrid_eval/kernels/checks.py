"""Argument checks for the public ops: each raises one ``ValueError`` line that names the bad value.

Only shapes, dtypes and devices are checked, never the values of data tensors (that would cost a pass over
the data, and a host sync on GPU): gates must be <= 0 and beta should lie in [0, 2], as the docstrings say.
"""

from __future__ import annotations

import torch


def check_qkv(op: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, grouped: bool) -> None:
    """q, k: [B, T, H, K]; v: [B, T, HV, V] with HV == H, or HV a multiple of H when ``grouped``."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{op}: {name} must be a 4-D tensor [B, T, H, D]; got {shape}.")
        if not x.is_floating_point():
            raise ValueError(f"{op}: {name} must be a floating-point tensor; got {x.dtype}.")
    if q.shape != k.shape:
        raise ValueError(
            f"{op}: q and k must have the same shape [B, T, H, K]; got q {tuple(q.shape)}, k {tuple(k.shape)}."
        )
    if v.shape[:2] != q.shape[:2]:
        raise ValueError(
            f"{op}: v must share q's batch and length [B, T] = {tuple(q.shape[:2])}; got v {tuple(v.shape)}."
        )
    H, HV = q.shape[2], v.shape[2]
    if grouped and HV % H != 0:
        raise ValueError(f"{op}: v's heads ({HV}) must be a multiple of q/k's heads ({H}).")
    if not grouped and HV != H:
        raise ValueError(f"{op}: v must have as many heads as q/k ({H}); got {HV}.")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"{op}: q, k, v must share one dtype; got {q.dtype}, {k.dtype}, {v.dtype}.")
    if not (q.device == k.device == v.device):
        raise ValueError(f"{op}: q, k, v must be on one device; got {q.device}, {k.device}, {v.device}.")


def check_tensor(op: str, name: str, x: torch.Tensor, shape: tuple[int, ...], device: torch.device) -> None:
    """``x`` is a floating-point tensor of exactly ``shape`` on ``device``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{op}: {name} must be a tensor of shape {list(shape)}; got {type(x).__name__}.")
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {list(shape)}; got {list(x.shape)}.")
    if not x.is_floating_point():
        raise ValueError(f"{op}: {name} must be a floating-point tensor; got {x.dtype}.")
    if x.device != device:
        raise ValueError(f"{op}: {name} must be on {device}, like q; got {x.device}.")


def check_state(op: str, state: torch.Tensor | None, shape: tuple[int, ...], device: torch.device) -> None:
    """``initial_state`` is None or a float32 tensor of ``shape`` ([B, H, K, V])."""
    if state is None:
        return
    check_tensor(op, "initial_state", state, shape, device)
    if state.dtype != torch.float32:
        raise ValueError(f"{op}: initial_state must be float32 (the state is kept in float32); got {state.dtype}.")


def check_scale(op: str, scale: float | None, head_dim: int) -> float:
    """The output scale: ``head_dim ** -0.5`` when None, else a positive number."""
    if scale is None:
        return head_dim**-0.5
    if not isinstance(scale, (int, float)) or scale <= 0:
        raise ValueError(f"{op}: scale must be a positive number; got {scale!r}.")
    return float(scale)
