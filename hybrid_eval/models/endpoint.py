"""A model served by an OpenAI-compatible chat-completions server (`model=endpoint`; docs/endpoints.md).

Only its configuration lives here: `check_config` turns every bad key into one ModelConfigError line before any work,
and `info` is the job's model card for results.json (base URL, served name, the API key's variable NAME, never the
key). The HTTP client is harness/decode/endpoint.py; the evaluator harness/evaluate/endpoint_scoring.py.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from omegaconf import OmegaConf

from hybrid_eval.models.family import ModelConfigError

ENDPOINT = "endpoint"
TOOL_FORMATS = ("text", "openai")


def _get(model_cfg, key: str, default=None):
    if OmegaConf.is_config(model_cfg) and OmegaConf.is_missing(model_cfg, key):
        return None
    return model_cfg.get(key, default)


def api_key(model_cfg, key_env: str = "api_key_env") -> str | None:
    """The key from the environment variable `model.<key_env>` names (None when it names none)."""
    name = _get(model_cfg, key_env)
    return None if name is None else os.environ.get(str(name))


def _check_url(url, key: str) -> None:
    parsed = urlparse(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ModelConfigError(f"model.{key}={str(url)!r} is not a server URL; accepted: http(s)://HOST:PORT/v1")


def _check_key_env(name, key: str) -> None:
    if name is None:
        return
    if not str(name).replace("_", "").isalnum():
        raise ModelConfigError(f"model.{key}={str(name)!r} is not a variable name; accepted: the NAME of an "
                               f"environment variable holding the key (e.g. OPENAI_API_KEY), never the key itself")
    if not os.environ.get(str(name)):
        raise ModelConfigError(f"model.{key}={name} but the environment variable {name} is not set; accepted: "
                               f"export {name}=<key>, or model.{key}=null for a server without a key")


def check_config(model_cfg) -> None:
    """One-line ModelConfigError for a missing or bad `model.*` key of `model=endpoint`."""
    for key in ("base_url", "name"):
        if _get(model_cfg, key) in (None, ""):
            example = "http://127.0.0.1:8000/v1" if key == "base_url" else "the served model's name"
            raise ModelConfigError(f"model.{key} is required for model=endpoint; accepted: {example}")
    _check_url(model_cfg.base_url, "base_url")
    if _get(model_cfg, "baseline_base_url") is not None:
        _check_url(model_cfg.baseline_base_url, "baseline_base_url")
    _check_key_env(_get(model_cfg, "api_key_env"), "api_key_env")
    if _get(model_cfg, "baseline_name") is not None:
        _check_key_env(_get(model_cfg, "baseline_api_key_env") or _get(model_cfg, "api_key_env"),
                       "baseline_api_key_env")
    for key, low, kind in (("concurrency", 1, int), ("max_retries", 0, int), ("timeout_s", 0, float),
                           ("backoff_s", 0, float)):
        value = _get(model_cfg, key)
        ok = (not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
              and (value > low if kind is float else value >= low))
        if not ok:
            accepted = f"an integer >= {low}" if kind is int else f"a number > {low}"
            raise ModelConfigError(f"model.{key}={value!r}; accepted: {accepted}")
    tool_format = _get(model_cfg, "tool_format", "text")
    if tool_format not in TOOL_FORMATS:
        raise ModelConfigError(f"model.tool_format={tool_format!r}; accepted: {', '.join(TOOL_FORMATS)}")
    extra = _get(model_cfg, "extra_body", {}) or {}
    if not hasattr(extra, "keys"):
        raise ModelConfigError(f"model.extra_body={extra!r}; accepted: a mapping of request fields")
    tok = _get(model_cfg, "tokenizer")
    if tok is not None and not os.path.isdir(os.path.expanduser(str(tok))):
        raise ModelConfigError(f"model.tokenizer={str(tok)!r} is not a directory; accepted: null or a local "
                               f"tokenizer directory (tokenizer.json / tokenizer_config.json)")


def info(model_cfg) -> dict:
    """results.json's model card: what was asked, never the key."""
    return {"family": ENDPOINT, "pattern": str(model_cfg.name), "size": ENDPOINT, "name": str(model_cfg.name),
            "base_url": str(model_cfg.base_url), "api_key_env": _get(model_cfg, "api_key_env"),
            "tool_format": str(_get(model_cfg, "tool_format", "text")), "params": None, "layer_types": [],
            "cache_bytes": None}
