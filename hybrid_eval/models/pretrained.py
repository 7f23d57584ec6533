"""Pretrained causal LMs from a local directory (`model=pretrained model.path=DIR`): safetensors only, no downloads.

Loads any model saved with `save_pretrained` (config.json + *.safetensors + tokenizer files) through transformers'
Auto classes with `local_files_only=True`; Python code shipped in the directory runs only with
`model.trust_remote_code=true`. The tokenizer comes from the same directory. Prompts are rendered with its own
chat template; a tokenizer without one gets `FALLBACK_CHAT_TEMPLATE` (one `role: content` line per message and
`assistant:` as the generation prompt), and `info["chat_template"]` says which was used.

    model, tokenizer, info = load(cfg.model)   # info: family, pattern, size="pretrained", params, layer_types, ...
"""
from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from hybrid_eval.models.family import ModelConfigError, shortest_period

FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
DTYPES = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
NEEDED = "a local directory written by save_pretrained (config.json, *.safetensors, tokenizer files)"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
GENERIC_LETTERS = {"full_attention": "F", "linear_attention": "L", "sliding_attention": "S"}
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")  # accelerate's placements over the host's GPUs


def check_dir(path, key: str = "model.path") -> Path:
    """The checkpoint directory, or ModelConfigError (one line) naming the path and what is missing."""
    d = Path(str(path)).expanduser()
    if not d.is_dir():
        raise ModelConfigError(f"{key}={str(path)!r} is not a directory; accepted: {NEEDED}")
    if not (d / "config.json").is_file():
        raise ModelConfigError(f"{key}={str(path)!r} has no config.json; accepted: {NEEDED}")
    if not any(d.glob("*.safetensors")):
        if any(d.glob("*.bin")):
            raise ModelConfigError(
                f"{key}={str(path)!r} holds only PyTorch .bin weights; accepted: safetensors only "
                f"(re-save it with model.save_pretrained(dir), which writes model.safetensors)"
            )
        raise ModelConfigError(f"{key}={str(path)!r} has no *.safetensors weights; accepted: {NEEDED}")
    if not any((d / f).is_file() for f in TOKENIZER_FILES):
        raise ModelConfigError(
            f"{key}={str(path)!r} has no tokenizer ({' / '.join(TOKENIZER_FILES)}); accepted: {NEEDED}"
        )
    return d


def check_dirs(model_cfg) -> None:
    """Validate `model.path`, `model.baseline_path` and `model.dtype` before any work is done."""
    if (OmegaConf.is_config(model_cfg) and OmegaConf.is_missing(model_cfg, "path")) or model_cfg.get("path") is None:
        raise ModelConfigError(f"model.path is required for model=pretrained; accepted: {NEEDED}")
    check_dir(model_cfg.path, "model.path")
    if model_cfg.get("baseline_path") is not None:
        check_dir(model_cfg.baseline_path, "model.baseline_path")
    dtype = str(model_cfg.get("dtype", "auto"))
    if dtype not in DTYPES:
        raise ModelConfigError(f"model.dtype={dtype!r} is not valid; accepted: {', '.join(DTYPES)}")
    device_map = model_cfg.get("device_map", None)
    if device_map is not None and str(device_map) not in DEVICE_MAPS:
        raise ModelConfigError(f"model.device_map={device_map!r} is not valid; accepted: null (one device, `device`) "
                               f"or {', '.join(DEVICE_MAPS)} (accelerate spreads the layers over this host's GPUs)")


def load(model_cfg, path=None):
    """(model in eval mode, tokenizer, info) for the checkpoint at `path` (default `model_cfg.path`)."""
    from hybrid_eval.models import describe, family_of_config

    check_dirs(model_cfg)
    key = "model.path" if path is None else "model.baseline_path"
    d = check_dir(model_cfg.path if path is None else path, key)
    trust = bool(model_cfg.get("trust_remote_code", False))
    common = {"local_files_only": True, "trust_remote_code": trust}
    try:
        config = AutoConfig.from_pretrained(d, **common)
    except (ValueError, OSError, KeyError) as e:
        hint = "" if trust else " (if it ships its own modeling code and you trust it, set model.trust_remote_code=true)"
        raise ModelConfigError(f"{key}={str(d)!r}: transformers cannot read its config: {_first_line(e)}{hint}") from None
    family = family_of_config(config)
    if family is not None:
        family.normalize_config(config)
    device_map = model_cfg.get("device_map", None)  # accelerate: layers over the GPUs of this host (docs/endpoints.md)
    placement = {"device_map": str(device_map)} if device_map is not None else {}
    model = AutoModelForCausalLM.from_pretrained(d, config=config, use_safetensors=True,
                                                 dtype=DTYPES[str(model_cfg.get("dtype", "auto"))], **placement,
                                                 **common).eval()
    tokenizer = AutoTokenizer.from_pretrained(d, **common)
    chat = "own"
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
        chat = "fallback"
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token  # left padding is masked; any id will do
    info = describe(model)
    info.update(family=family.name if family is not None else config.model_type,
                pattern=family.pattern_of(config) if family is not None else _generic_pattern(info["layer_types"]),
                size="pretrained", path=str(d.resolve()), model_type=config.model_type, chat_template=chat)
    if device_map is not None:  # where accelerate put the weights: {device: parameters there}
        where: dict[str, int] = {}
        for param in model.parameters():
            where[str(param.device)] = where.get(str(param.device), 0) + param.numel()
        info["device_map"] = where
    return model, tokenizer, info


def _generic_pattern(layer_types: list[str]) -> str | None:
    if not layer_types or any(t not in GENERIC_LETTERS for t in layer_types):
        return None
    return shortest_period("".join(GENERIC_LETTERS[t] for t in layer_types))


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
