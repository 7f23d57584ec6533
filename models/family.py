"""A model family: one transformers architecture whose token mixer is set per layer by a pattern.

`Family` subclasses (one file each, registered with `@register`) map (pattern, size preset, vocabulary) to a
transformers config; everything else about the network (norms, MLP, embeddings) is shared, so full,
hybrid and linear variants differ only in their mixers. Within a family and preset every pattern gets the
parameter count of the all-full `F` variant within ±5%: the MLP width is searched to match (torchtitan-style
specs: name + flavor -> builder).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig


class ModelConfigError(ValueError):
    """A model override the user gave is invalid; the message is one line saying what is accepted."""


FAMILIES: dict[str, type["Family"]] = {}


def register(cls: type["Family"]) -> type["Family"]:
    FAMILIES[cls.name] = cls
    return cls


def get_family(name: str) -> "Family":
    import models.catalog  # noqa: F401  (registers the built-in families)

    if name not in FAMILIES:
        raise ModelConfigError(f"unknown model.family {name!r}; accepted: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]()


@dataclass(frozen=True)
class Preset:
    hidden: int  # model width
    layers: int
    heads: int  # attention heads (and linear-attention heads)
    head_dim: int
    mlp_ratio: float = 3.0  # intermediate size of the F variant / hidden


class Family:
    name: ClassVar[str]
    model_type: ClassVar[str]  # transformers' model_type
    presets: ClassVar[dict[str, Preset]]
    layer_names: ClassVar[dict[str, str]]  # pattern letter -> transformers layer type

    # --- patterns -----------------------------------------------------------------------------------
    def layer_types(self, pattern: str, n_layers: int) -> list[str]:
        """`LLLF` on 8 layers -> [linear x3, full, linear x3, full] (transformers' names)."""
        pattern = str(pattern)
        letters = "".join(sorted(self.layer_names))
        if not pattern or any(c not in self.layer_names for c in pattern):
            raise ModelConfigError(
                f"model.pattern={pattern!r} is not valid for {self.name}; accepted: a string of the letters "
                f"{letters} (F = full attention, L = linear), e.g. F, LLLF, L"
            )
        return [self.layer_names[pattern[i % len(pattern)]] for i in range(n_layers)]

    def preset(self, size: str) -> Preset:
        if size not in self.presets:
            raise ModelConfigError(f"model.size={size!r} is not a preset of {self.name}; accepted: {', '.join(self.presets)}")
        return self.presets[size]

    # --- to implement -------------------------------------------------------------------------------
    def hf_config(self, pattern: str, preset: Preset, vocab_size: int, intermediate: int, **extra: Any) -> PretrainedConfig:
        raise NotImplementedError

    def cache_bytes(self, config: PretrainedConfig, context: int, dtype_bytes: int = 2) -> dict[str, int]:
        """Bytes of inference cache one sequence of `context` tokens holds: {"full": .., "linear": .., "total": ..}."""
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------------
    def count_params(self, config: PretrainedConfig) -> int:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        return sum(p.numel() for p in model.parameters())

    def matched_config(self, pattern: str, size: str, vocab_size: int, **extra: Any) -> tuple[PretrainedConfig, dict]:
        """The config for `pattern` at `size`, MLP width adjusted so params match the `F` variant within ±5%."""
        p = self.preset(size)
        self.layer_types(pattern, p.layers)  # validates
        base_inter = int(round(p.hidden * p.mlp_ratio))
        ref = self.count_params(self.hf_config("F", p, vocab_size, base_inter, **extra))
        cfg = self.hf_config(pattern, p, vocab_size, base_inter, **extra)
        n = self.count_params(cfg)
        inter = base_inter
        if abs(n - ref) > 0.01 * ref:
            # params are affine in the MLP width: one secant step from two points lands on the target
            probe = max(8, base_inter // 2)
            n_probe = self.count_params(self.hf_config(pattern, p, vocab_size, probe, **extra))
            slope = (n - n_probe) / (base_inter - probe)
            inter = max(8, int(round(base_inter + (ref - n) / slope)))
            cfg = self.hf_config(pattern, p, vocab_size, inter, **extra)
            n = self.count_params(cfg)
        return cfg, {"params": n, "params_F": ref, "param_ratio": n / ref, "intermediate_size": inter}
