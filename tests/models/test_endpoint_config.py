"""model=endpoint's configuration: every bad key is one ModelConfigError line naming it and what is accepted."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.models.endpoint import info
from hybrid_eval.models.family import ModelConfigError
from tests.conftest import compose_config

GOOD = ["model=endpoint", "model.base_url=http://127.0.0.1:8000/v1", "model.name=m"]


def model_cfg(*over):
    return compose_config([*GOOD, *over]).model


def test_the_default_endpoint_config_is_valid_and_its_card_names_no_key(monkeypatch):
    monkeypatch.setenv("HE_KEY", "sk-secret")
    cfg = model_cfg("model.api_key_env=HE_KEY")
    models.validate(cfg)
    assert models.is_endpoint(cfg) and not models.is_pretrained(cfg)
    card = info(cfg)
    assert card["pattern"] == "m" and card["api_key_env"] == "HE_KEY" and "sk-secret" not in str(card)


@pytest.mark.parametrize("over,message", [
    (["model.base_url=localhost:8000"], "model.base_url='localhost:8000' is not a server URL"),
    (["model.name=null"], "model.name is required"),
    (["model.api_key_env=HE_UNSET_KEY"], "environment variable HE_UNSET_KEY is not set"),
    (["model.api_key_env='sk-abc.def'"], "is not a variable name"),
    (["model.concurrency=0"], "model.concurrency=0; accepted: an integer >= 1"),
    (["model.timeout_s=0"], "model.timeout_s=0; accepted: a number > 0"),
    (["model.max_retries=-1"], "model.max_retries=-1"),
    (["model.tool_format=json"], "model.tool_format='json'; accepted: text, openai"),
    (["model.tokenizer=/no/such/dir"], "model.tokenizer='/no/such/dir' is not a directory"),
    (["model.baseline_name=b", "model.baseline_base_url=ftp://x"], "model.baseline_base_url='ftp://x'"),
])
def test_bad_keys_are_one_line_errors(over, message, monkeypatch):
    monkeypatch.delenv("HE_UNSET_KEY", raising=False)
    with pytest.raises(ModelConfigError, match=None) as e:
        models.validate(model_cfg(*over))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_base_url_is_required():
    cfg = compose_config(["model=endpoint", "model.name=m"]).model
    with pytest.raises(ModelConfigError, match="model.base_url is required"):
        models.validate(cfg)
    assert OmegaConf.is_missing(cfg, "base_url")
