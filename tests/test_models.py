"""Model families: patterns become layer types, parameters match the F variant within ±5%, bad input errs."""
import pytest
import torch

import models
from models import ModelConfigError, get_family
from tests.conftest import tiny_qwen3_next

PATTERNS = ["F", "LF", "LLLF", "LLLLLLLF", "L"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_layer_types_follow_the_pattern(pattern):
    model = tiny_qwen3_next(pattern)
    types = model.config.layer_types
    expect = [pattern[i % len(pattern)] for i in range(len(types))]
    assert ["F" if t == "full_attention" else "L" for t in types] == expect
    # the built modules are the mixers the config names
    for layer, t in zip(model.model.layers, types):
        assert hasattr(layer, "linear_attn" if t == "linear_attention" else "self_attn")


@pytest.mark.parametrize("size", ["tiny", "small", "base", "large"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_parameter_count_matches_full_attention(size, pattern):
    _, match = get_family("qwen3_next").matched_config(pattern, size, vocab_size=512)
    assert abs(match["params"] / match["params_F"] - 1) <= 0.05


def test_describe_counts_parameters_and_cache():
    model = tiny_qwen3_next("LLLF")
    info = models.describe(model, contexts=(1000, 2000))
    assert info["params"] == sum(p.numel() for p in model.parameters())
    c1, c2 = info["cache_bytes"]["1000"], info["cache_bytes"]["2000"]
    assert c2["full"] == 2 * c1["full"] > 0  # KV grows with context
    assert c2["linear"] == c1["linear"] > 0  # recurrent + conv state does not


@pytest.mark.parametrize("pattern,size,family,match", [
    ("LXF", "tiny", "qwen3_next", "model.pattern='LXF'"),
    ("", "tiny", "qwen3_next", "model.pattern=''"),
    ("F", "huge", "qwen3_next", "model.size='huge'"),
    ("F", "tiny", "gpt5", "model.family 'gpt5'"),
])
def test_bad_model_overrides_name_the_value_and_the_accepted_ones(pattern, size, family, match):
    with pytest.raises(ModelConfigError, match="accepted") as err:
        get_family(family).matched_config(pattern, size, 64)
    assert match in str(err.value) and "\n" not in str(err.value)


def test_save_load_round_trip_gives_identical_logits(tmp_path):
    from transformers import AutoModelForCausalLM

    model = tiny_qwen3_next("LLLF")
    x = torch.randint(1, 64, (2, 11))
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(model(x).logits, again(x).logits)
