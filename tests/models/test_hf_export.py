"""An all-linear checkpoint generates through plain transformers (models/hf_export.py): with `trust_remote_code=True`,
`AutoModelForCausalLM.generate()` gives the tokens of the harness's own cached decoder, for every family with an `L`
pattern; without the modeling file qwen3_next and kimi_linear raise (transformers' DynamicCache has no attention layer
to size the mask from; MiniMax's own MiniMaxCache copes, and the file changes nothing there but speed).
A checkpoint with an attention layer is saved as before."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.models.hf_export import MODELING, write_generate_shim
from tests.models.families import PATTERNS, tiny

LINEAR = [f for f, ps in PATTERNS.items() if "L" in ps]
PROMPTS = [[5, 9, 11, 3, 7, 21, 2], [40, 41, 8, 8, 13]]
NEW = 8
NATIVE_RAISES = {"qwen3_next", "kimi_linear"}  # transformers 5.25; the harness never relies on the native path


def save(model, path):
    model.save_pretrained(path)
    return write_generate_shim(model, path)


@pytest.mark.parametrize("family", LINEAR)
def test_all_linear_checkpoint_generates_the_harness_tokens(family, tmp_path):
    model = tiny(family, "L")
    assert save(model, tmp_path) and (tmp_path / f"{MODELING}.py").is_file()
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"]["AutoModelForCausalLM"] == f"{MODELING}.AllLinearForCausalLM"
    expected = greedy(model, PROMPTS, max_new_tokens=NEW, stop_ids={10**6}, pad_id=0, batch_size=1)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path, trust_remote_code=True).eval()
    for prompt, want in zip(PROMPTS, expected):
        with torch.no_grad():
            out = loaded.generate(torch.tensor([prompt]), max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False,
                                  use_cache=True, pad_token_id=0)
        assert out[0, len(prompt):].tolist() == want
    native = AutoModelForCausalLM.from_pretrained(tmp_path).eval()  # without the flag: transformers' own class
    assert type(native).__name__ == type(model).__name__
    if family not in NATIVE_RAISES:
        return
    with pytest.raises(ValueError, match="get_mask_sizes|Attention layers|sequence length"):
        native.generate(torch.tensor([PROMPTS[0]]), max_new_tokens=2, do_sample=False, use_cache=True, pad_token_id=0)


def test_a_checkpoint_with_attention_is_saved_as_before(tmp_path):
    model = tiny("qwen3_next", "LLLF")
    assert not save(model, tmp_path)
    assert not (tmp_path / f"{MODELING}.py").exists() and "auto_map" not in json.loads((tmp_path / "config.json").read_text())
