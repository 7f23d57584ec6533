"""A family is one module plus one line in models/catalog.py: every registered family declares a released pattern
that builds the layers it names and is among the patterns it lists; a family registered at run time (a throwaway
full-attention family over transformers' Llama) is picked up by `describe`, the models table and both benchmarks'
helpers without an edit, and the benchmarks' registry-derived lists equal the ones they used to write out."""
import pytest
import torch
from transformers import AutoConfig

import tests.benchmarks.conftest  # noqa: F401  (puts benchmarks/ on sys.path)
from hybrid_eval import models
from hybrid_eval.models import FAMILIES, Family, get_family, register, table
from hybrid_eval.models.cache import cache_tensors_bytes
from hybrid_eval.models.family import PRESETS
from tests.models.families import built_pattern, expected_pattern, tiny


class LlamaDense(Family):
    """Throwaway: transformers' Llama as a family with one pattern, F (full attention everywhere)."""

    name = "llama_dense"
    model_type = "llama"
    layer_names = {"F": "full_attention"}
    mixers = {"F": "LlamaAttention"}
    released_pattern = "F"
    patterns = ("F",)
    presets = PRESETS

    def hf_config(self, pattern, preset, vocab_size, intermediate, **extra):
        self.layer_types(pattern, preset.layers)  # validates
        return AutoConfig.for_model("llama", **preset.trunk(vocab_size, intermediate, extra),
                                    num_key_value_heads=preset.heads, head_dim=preset.head_dim)

    def layer_kinds(self, config):
        return ["full_attention"] * config.num_hidden_layers  # LlamaConfig has no layer_types

    def cache_bytes(self, config, context, dtype_bytes=2):
        kv = config.num_hidden_layers * 2 * config.num_key_value_heads * config.head_dim * context * dtype_bytes
        return {"full": kv, "linear": 0, "total": kv}


@pytest.fixture
def llama():
    register(LlamaDense)
    try:
        yield get_family(LlamaDense.name)
    finally:
        del FAMILIES[LlamaDense.name]


def check_released(name: str) -> None:
    family = get_family(name)
    assert family.released_pattern in family.patterns and family.reference_pattern in family.patterns
    model = tiny(name, family.released_pattern)
    n = model.config.num_hidden_layers
    assert built_pattern(model) == expected_pattern(name, family.released_pattern, n)
    assert family.pattern_of(model.config) == family.released_pattern


@pytest.mark.parametrize("name", list(FAMILIES))
def test_released_pattern_is_listed_and_builds_its_layers(name):
    check_released(name)


def test_released_patterns_are_the_published_ones():
    assert {n: c.released_pattern for n, c in FAMILIES.items()} == {
        "qwen3_next": "LLLF", "kimi_linear": "LLLF", "minimax": "LLLLLLLF", "deepseek_v32": "sparse"}


def test_benchmarks_list_what_they_used_to_write_out():
    import bench_decode
    import bench_kernels

    assert bench_decode.variants() == {"qwen3_next": ("F", "LLLF"), "kimi_linear": ("F", "LLLF"),
                                       "minimax": ("F", "LLLLLLLF"), "deepseek_v32": ("dense", "sparse")}
    assert bench_kernels.model_patterns() == {"qwen3_next": ["F", "LLLF", "L"], "kimi_linear": ["F", "LLLF", "L"],
                                              "minimax": ["F", "LLLLLLLF", "L"]}


def test_a_registered_family_is_picked_up_without_edits(llama):
    import bench_decode
    import bench_kernels

    check_released("llama_dense")
    # describe: the family's cache formula, equal to the bytes the cache holds after 37 tokens
    # (tiny: 4 layers x K and V x 2 heads x 32 dims x 37 tokens x 4 bytes = 75776)
    model = tiny("llama_dense", "F")
    cache = models.make_cache(model)
    with torch.no_grad():
        model(input_ids=torch.randint(1, 64, (1, 37)), use_cache=True, **{models.cache_kwarg(model): cache})
    info = models.describe(model, contexts=(37,), dtype_bytes=4)
    assert info["layer_types"] == ["full_attention"] * 4
    assert info["cache_bytes"]["37"]["total"] == cache_tensors_bytes(cache) == 4 * 2 * 2 * 32 * 37 * 4
    # the models table: its one pattern at tiny, and a headline row (base: 2 x 8 heads x 64 dims x 2 bytes per token)
    (row,) = table.rows(llama, "tiny", 64)
    assert (row["pattern"], row["types"], row["ratio"]) == ("F", "FFFF", 1.0)
    assert table.headline(4096)[-1] == "| llama_dense | `F` vs `F` | 2.0 KiB | 0 B | 1.000 | 1.000 | 1.000 | 1.000 |"
    # the benchmarks: bench_decode times it (reference = released = F); bench_kernels skips it (nothing bound)
    assert bench_decode.variants()["llama_dense"] == ("F", "F")
    assert bench_decode.parse(["--cpu", "--quick"]).families[-1] == "llama_dense"
    assert "llama_dense" not in bench_kernels.model_patterns()


def test_an_unregistered_architecture_is_described_generically():
    config = LlamaDense().hf_config("F", PRESETS["tiny"], vocab_size=64, intermediate=128)
    model = torch.nn.Module()
    model.config = config
    assert models.family_of_config(config) is None
    assert models.describe(model)["cache_bytes"] is None
