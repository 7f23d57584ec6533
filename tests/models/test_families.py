"""Families: the built modules follow the pattern, parameters match the reference variant within ±5%, a
save/load round trip keeps the logits, and bad overrides end in one line naming the value and what is accepted."""
import pytest
import torch
from transformers import AutoModelForCausalLM

from hybrid_eval import models
from hybrid_eval.models import ModelConfigError, get_family
from tests.models.families import CASES, PATTERNS, TOPK, built_pattern, expected_pattern, tiny


@pytest.mark.parametrize("family,pattern", CASES)
def test_built_layers_follow_the_pattern(family, pattern):
    model = tiny(family, pattern)
    n = model.config.num_hidden_layers
    assert n >= 4
    assert built_pattern(model) == expected_pattern(family, pattern, n)
    # describe reports the same per-layer types, and they give the pattern back
    fam = get_family(family)
    assert models.describe(model)["layer_types"] == fam.layer_types(pattern, n)
    assert fam.pattern_of(model.config) == pattern


def test_kimi_pattern_lands_on_the_checkpoint_numbering():
    # Kimi checkpoints list full-attention layers 1-based (linear_attn_config.full_attn_layers); LLLF on 8 layers
    # must be full layers 4 and 8 there, i.e. 0-based 3 and 7 in layer_types, and transformers must read it back so
    from transformers import AutoConfig

    types = get_family("kimi_linear").layer_types("LLLF", 8)
    assert [i for i, t in enumerate(types) if t == "full_attention"] == [3, 7]
    cfg = AutoConfig.for_model("kimi_linear", num_hidden_layers=8,
                               linear_attn_config={"full_attn_layers": [4, 8], "kda_layers": [1, 2, 3, 5, 6, 7]})
    assert list(cfg.layer_types) == types


def test_deepseek_sparse_keeps_topk_keys_and_dense_keeps_all():
    # same weights, only index_topk differs: equal up to TOPK tokens, different once a query must drop keys
    dense, sparse = tiny("deepseek_v32", "dense"), tiny("deepseek_v32", "sparse")
    assert sparse.config.index_topk == TOPK and dense.config.index_topk >= dense.config.max_position_embeddings
    sparse.load_state_dict(dense.state_dict())
    x = torch.randint(1, 64, (1, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        d, s = dense(x).logits, sparse(x).logits
    assert torch.allclose(d[:, :TOPK], s[:, :TOPK], atol=1e-5)
    assert (d[:, TOPK:] - s[:, TOPK:]).abs().max() > 1e-3


@pytest.mark.parametrize("family,pattern", CASES)
def test_parameters_match_the_reference_when_built(family, pattern):
    fam = get_family(family)
    for size in ("tiny", "small"):
        config, match = fam.matched_config(pattern, size, vocab_size=512, index_topk=TOPK)
        model = AutoModelForCausalLM.from_config(config)
        n = sum(p.numel() for p in model.parameters())
        assert n == match["params"]
        assert abs(n / match["params_F"] - 1) <= 0.05, (size, n, match)


@pytest.mark.parametrize("family,pattern", CASES)
def test_parameters_match_the_reference_at_base_and_large(family, pattern):
    fam = get_family(family)
    for size, lo, hi in (("base", 20e6, 50e6), ("large", 150e6, 400e6)):
        _, match = fam.matched_config(pattern, size, vocab_size=4096, index_topk=TOPK)  # counted on the meta device
        assert abs(match["param_ratio"] - 1) <= 0.05, (size, match)
        assert lo <= match["params"] <= hi, (size, match["params"])


@pytest.mark.parametrize("family", list(PATTERNS))
def test_save_load_round_trip_gives_identical_logits(family, tmp_path):
    x = torch.randint(1, 64, (2, 11), generator=torch.Generator().manual_seed(0))
    for pattern in PATTERNS[family]:
        model = tiny(family, pattern)
        model.save_pretrained(tmp_path / pattern)
        again = AutoModelForCausalLM.from_pretrained(tmp_path / pattern, use_safetensors=True).eval()
        with torch.no_grad():
            assert torch.equal(model(x, use_cache=False).logits, again(x, use_cache=False).logits), pattern


def test_pure_linear_probe_runs_a_plain_forward():
    # transformers' default cache raises without an attention layer; a plain model(x) must still work
    for family in [f for f, ps in PATTERNS.items() if "L" in ps]:
        model = tiny(family, "L")
        with torch.no_grad():
            assert model(torch.tensor([[1, 2, 3]])).logits.shape == (1, 3, 64)


@pytest.mark.parametrize("family,pattern,size,knobs,needle", [
    ("qwen3_next", "LXF", "tiny", {}, "model.pattern='LXF'"),
    ("kimi_linear", "", "tiny", {}, "model.pattern=''"),
    ("minimax", "LLLF", "huge", {}, "model.size='huge'"),
    ("gpt5", "F", "tiny", {}, "model.family 'gpt5'"),
    ("qwen3_next", "LLLLLLLF", "tiny", {}, "model.pattern='LLLLLLLF' needs 8 layers"),
    ("deepseek_v32", "LLLF", "tiny", {}, "model.pattern='LLLF' is not valid for deepseek_v32"),
    ("deepseek_v32", "F", "tiny", {}, "accepted: dense"),
    ("deepseek_v32", "sparse", "tiny", {"index_topk": 0}, "model.index_topk=0"),
    ("deepseek_v32", "sparse", "tiny", {"index_topk": "many"}, "model.index_topk='many'"),
])
def test_bad_model_overrides_name_the_value_and_the_accepted_ones(family, pattern, size, knobs, needle):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"family": family, "pattern": pattern, "size": size, **knobs})
    with pytest.raises(ModelConfigError, match="accepted") as err:
        models.validate(cfg)
    assert needle in str(err.value) and "\n" not in str(err.value)
