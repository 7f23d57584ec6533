"""A model family: one transformers architecture whose token mixer is set per layer by a pattern.

`Family` subclasses (one file each, registered with `@register`) map (pattern, size preset, vocabulary) to a
transformers config; everything else about the network (norms, MLP, embeddings) is shared, so full,
hybrid and linear variants differ only in their mixers. Within a family and preset every pattern gets the
parameter count of the all-full `F` variant (`reference_pattern`) within ±5%: the MLP width is searched to
match (torchtitan-style specs: name + flavor -> builder). A family whose variants are not F/L strings (DeepSeek's
dense vs sparse) overrides `layer_types`, `layer_kinds` and `reference_pattern`; callers never special-case it.

Everything the rest of the code needs to know about a family is declared on its class, in its own module:

- presets, `layer_names` (pattern letter -> layer type) and `mixers` (letter -> the transformers module that letter
  builds; `S`, sliding-window attention, builds the `F` module with a window: models/window.py),
  `released_pattern` (what the released model ships) and `patterns` (the variants tests build and tools list),
  `reference_pattern` and `knobs` (`window` for every family);
- its binding: `modeling` (the transformers module it patches) and `binding` ({attribute: our replacement}, an
  attribute being a module-level name or `Class.method` of that module; models/binding.py applies them all);
- its cache quirks: `make_cache` (dynamic) and `make_static_cache` (fixed buffers for CUDA-graph decoding).

Registration: `@register` on the class, and one import line in models/catalog.py (whose order is the order
families are listed in: tables, benchmarks, tests).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig

from hybrid_eval.models import window as swa


def shortest_period(seq: str) -> str:
    """The shortest pattern that repeats to `seq` (the last copy may be cut): `LLLFLLLF` and `LLLFL` -> `LLLF`."""
    for n in range(1, len(seq) + 1):
        if all(seq[i] == seq[i % n] for i in range(len(seq))):
            return seq[:n]
    return seq


class ModelConfigError(ValueError):
    """A model override the user gave is invalid; the message is one line saying what is accepted."""


FAMILIES: dict[str, type["Family"]] = {}


def register(cls: type["Family"]) -> type["Family"]:
    FAMILIES[cls.name] = cls
    return cls


def get_family(name: str) -> "Family":
    import hybrid_eval.models.catalog  # noqa: F401  (registers the built-in families)

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

    def trunk(self, vocab_size: int, intermediate: int, extra: dict, max_position: int = 8192) -> dict:
        """The config keys every family's transformers config shares (the non-mixer part of the network, the
        context length and the special tokens), `extra` being hf_config's keyword arguments."""
        return {"vocab_size": vocab_size, "hidden_size": self.hidden, "intermediate_size": intermediate,
                "num_hidden_layers": self.layers, "num_attention_heads": self.heads,
                "max_position_embeddings": extra.get("max_position_embeddings", max_position),
                "tie_word_embeddings": False, "pad_token_id": extra.get("pad_token_id", 0),
                "bos_token_id": extra.get("bos_token_id"), "eos_token_id": extra.get("eos_token_id")}


# The size presets every family shares unless it needs others (MiniMax's tiny/small need 8 layers for LLLLLLLF)
PRESETS = {
    "tiny": Preset(hidden=64, layers=4, heads=2, head_dim=32),  # CI: seconds
    "small": Preset(hidden=128, layers=4, heads=2, head_dim=64),  # CPU default
    "base": Preset(hidden=512, layers=8, heads=8, head_dim=64),  # ~30M parameters, GPU
    "large": Preset(hidden=1024, layers=16, heads=16, head_dim=64),  # ~200M+, GPU
}


class Family:
    name: ClassVar[str]
    model_type: ClassVar[str]  # transformers' model_type
    presets: ClassVar[dict[str, Preset]]
    layer_names: ClassVar[dict[str, str]]  # pattern letter -> transformers layer type
    mixers: ClassVar[dict[str, str]] = {}  # pattern letter -> class name of the transformers module it builds
    released_pattern: ClassVar[str]  # the pattern the released model ships (Qwen3-Next's LLLF, DeepSeek's sparse)
    patterns: ClassVar[tuple[str, ...]]  # the variants worth building and listing (tests, benchmarks)
    reference_pattern: ClassVar[str] = "F"  # the variant every other pattern's parameter count is matched to
    knobs: ClassVar[dict[str, Any]] = {"window": swa.DEFAULT_WINDOW}  # `model.<knob>` keys it reads, with defaults
    mlp_multiple: ClassVar[int] = 1  # the matched MLP width is rounded to a multiple of this
    modeling: ClassVar[str | None] = None  # transformers' modeling module that `binding` patches
    binding: ClassVar[dict[str, Callable]] = {}  # attribute of `modeling` ("fn" or "Class.method") -> ours

    # --- patterns -----------------------------------------------------------------------------------
    def layer_types(self, pattern: str, n_layers: int) -> list[str]:
        """`LLLF` on 8 layers -> [linear x3, full, linear x3, full] (transformers' names)."""
        pattern = str(pattern)
        letters = "".join(sorted(self.layer_names))
        if not pattern or any(c not in self.layer_names for c in pattern):
            raise ModelConfigError(
                f"model.pattern={pattern!r} is not valid for {self.name}; accepted: a string of the letters "
                f"{letters} (F = full attention, L = linear, S = sliding-window attention), e.g. F, LLLF, L, SSSF"
            )
        if len(pattern) > n_layers and len(set(pattern[:n_layers])) < len(set(pattern)):
            raise ModelConfigError(
                f"model.pattern={pattern!r} needs {len(pattern)} layers to contain each of its letters but this "
                f"{self.name} size has {n_layers}; accepted: a pattern of at most {n_layers} letters or a larger model.size"
            )
        return [self.layer_names[pattern[i % len(pattern)]] for i in range(n_layers)]

    def layer_kinds(self, config: PretrainedConfig) -> list[str]:
        """Per-layer mixer type of a built config, in the names `layer_types` returns (what `describe` reports)."""
        return swa.mark(config, list(config.layer_types))

    def window_keys(self, types: list[str], extra: dict) -> dict:
        """The config keys that build and window the S layers of `types` (per-layer names from `layer_types`):
        `layer_types` as transformers builds them (an S layer typed as `F`'s) plus models/window.py's keys."""
        return {"layer_types": swa.transformers_types(types, self.layer_names["F"]),
                **swa.config_keys(types, extra.get("window", swa.DEFAULT_WINDOW))}

    def built_pattern(self, model) -> list[str]:
        """Per layer, the pattern letter of the token mixer `model` actually built, read from its modules (`mixers`)
        rather than its config; an unknown module gives its class names instead of a letter."""
        letter = {cls: c for c, cls in self.mixers.items() if c != "S"}  # S builds F's module
        windowed = set(swa.window_layers(model.config))
        out = []
        for i, layer in enumerate(model.model.layers):
            names = [type(m).__name__ for m in layer.children()]
            found = [letter[n] for n in names if n in letter]
            out.append(found[0] if len(found) == 1 else "?" + "+".join(names))
            if out[-1] == "F" and i in windowed:
                out[-1] = "S"
        return out

    def pattern_of(self, config: PretrainedConfig) -> str:
        """The shortest pattern that repeats to the config's layers (`LLLF` for L,L,L,F,L,L,L,F)."""
        letter = {t: c for c, t in self.layer_names.items()}
        kinds = self.layer_kinds(config)
        if len(letter) == len(self.layer_names) and all(len(c) == 1 for c in self.layer_names):
            return shortest_period("".join(letter.get(t, "?") for t in kinds))
        return letter.get(kinds[0], "?") if len(set(kinds)) == 1 else "?"  # word patterns (dense / sparse)

    def normalize_config(self, config: PretrainedConfig) -> None:
        """Adapt a config saved by another transformers version to this one, in place (nothing by default)."""

    def check_knobs(self, **knobs: Any) -> None:
        """Raise ModelConfigError (one line) for a bad knob (`model.window` for every family; a family adds its own)."""
        w = knobs.get("window", swa.DEFAULT_WINDOW)
        if isinstance(w, bool) or not isinstance(w, int) or w < 2:
            raise ModelConfigError(f"model.window={w!r} is not valid; accepted: an integer >= 2 (the tokens an S "
                                   f"layer attends to, itself included; default {swa.DEFAULT_WINDOW})")

    def make_cache(self, config: PretrainedConfig):
        """An empty inference cache for a model of `config`, which works for every pattern (pure-linear included)."""
        from hybrid_eval.models.cache import CountingCache

        return CountingCache(config)

    def make_static_cache(self, config: PretrainedConfig, max_len: int):
        """An empty cache of `max_len` preallocated tokens for CUDA-graph decoding, for a family whose model needs
        a cache class of its own; None (the default) lets harness.decode.static_cache use transformers' StaticCache.
        A cache that keeps states outside its `layers` also has `forget_linear_states()` and
        `copy_linear_states(dynamic)`, which `rewind` and `fill_from` call."""
        return None

    def static_window_layer(self, max_len: int, window: int):
        """The static cache layer of an S layer (harness/decode/static_cache.py and the families' static caches ask):
        a `window.RingWindowLayer`, or a subclass where the attention caches more than K and V (DeepSeek's indexer)."""
        return swa.RingWindowLayer(max_cache_len=max_len, sliding_window=window)

    def preset(self, size: str) -> Preset:
        if size not in self.presets:
            raise ModelConfigError(f"model.size={size!r} is not a preset of {self.name}; accepted: {', '.join(self.presets)}")
        return self.presets[size]

    # --- to implement -------------------------------------------------------------------------------
    def hf_config(self, pattern: str, preset: Preset, vocab_size: int, intermediate: int, **extra: Any) -> PretrainedConfig:
        raise NotImplementedError

    def cache_bytes(self, config: PretrainedConfig, context: int, dtype_bytes: int = 2) -> dict[str, int]:
        """Bytes of inference cache one sequence of `context` tokens holds: {"full": .., "sliding": .., "linear": ..,
        "total": ..} (an S layer holds `window.cached_tokens`, at most the window)."""
        raise NotImplementedError

    @staticmethod
    def attention_counts(config: PretrainedConfig, context: int, kinds: list[str]) -> tuple[int, int]:
        """(full layers x context, S layers x their cached tokens): the token-slots of KV one sequence holds."""
        full = sum(k not in ("linear_attention", swa.SLIDING) for k in kinds)
        sliding = sum(k == swa.SLIDING for k in kinds)
        return full * context, sliding * swa.cached_tokens(config, context)

    def init_probe(self, model, generator: torch.Generator) -> None:
        """Re-initialise what transformers' `_init_weights` gets wrong for training from scratch (a probe only,
        never a pretrained checkpoint), following the architecture's published training recipe."""

    # --- shared -------------------------------------------------------------------------------------
    def count_params(self, config: PretrainedConfig) -> int:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        return sum(p.numel() for p in model.parameters())

    def matched_config(self, pattern: str, size: str, vocab_size: int, **extra: Any) -> tuple[PretrainedConfig, dict]:
        """The config for `pattern` at `size`, MLP width adjusted so params match the `F` variant within ±5%."""
        p = self.preset(size)
        self.layer_types(pattern, p.layers)  # validates
        self.check_knobs(**{k: v for k, v in extra.items() if k in self.knobs})
        base_inter = int(round(p.hidden * p.mlp_ratio))
        ref = self.count_params(self.hf_config(self.reference_pattern, p, vocab_size, base_inter, **extra))
        cfg = self.hf_config(pattern, p, vocab_size, base_inter, **extra)
        n = self.count_params(cfg)
        inter = base_inter
        if abs(n - ref) > 0.01 * ref:
            # params are affine in the MLP width: one secant step from two points lands on the target
            probe = max(8, base_inter // 2)
            n_probe = self.count_params(self.hf_config(pattern, p, vocab_size, probe, **extra))
            slope = (n - n_probe) / (base_inter - probe)
            inter = max(8, int(round(base_inter + (ref - n) / slope)))
            inter = max(self.mlp_multiple, self.mlp_multiple * round(inter / self.mlp_multiple))
            cfg = self.hf_config(pattern, p, vocab_size, inter, **extra)
            n = self.count_params(cfg)
        if "L" in self.layer_names and set(self.layer_types(pattern, p.layers)) == {self.layer_names["L"]}:
            # no attention layer: transformers' default cache cannot tell the sequence length and raises, so a plain
            # `model(x)` must not build one; cached decoding passes `models.make_cache(model)` explicitly
            cfg.use_cache = False
        return cfg, {"params": n, "params_F": ref, "param_ratio": n / ref, "intermediate_size": inter}
