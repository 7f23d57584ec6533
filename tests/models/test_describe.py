"""`models.describe`: parameters, layer types, and a cache-bytes formula that equals the bytes of every tensor the
model's cache object actually holds after a forward pass, for every family x pattern at tiny."""
import pytest
import torch

from hybrid_eval import models
from hybrid_eval.models.cache import cache_tensors_bytes
from tests.models.families import CASES, tiny


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("family,pattern", CASES)
def test_cache_formula_equals_the_tensors_the_cache_holds(family, pattern, dtype):
    # bfloat16 separates what transformers keeps in float32 (KDA / Gated DeltaNet states) from model-dtype tensors
    model = tiny(family, pattern, dtype=dtype)
    T = 37
    cache = models.make_cache(model)
    with torch.no_grad():
        model(input_ids=torch.randint(1, 64, (1, T)), use_cache=True, **{models.cache_kwarg(model): cache})
    info = models.describe(model, contexts=(T,), dtype_bytes=torch.finfo(dtype).bits // 8)
    assert info["cache_bytes"][str(T)]["total"] == cache_tensors_bytes(cache) > 0


@pytest.mark.parametrize("family,pattern", CASES)
def test_describe_counts_parameters_and_scales_kv_with_context(family, pattern):
    model = tiny(family, pattern)
    info = models.describe(model, contexts=(1000, 2000))
    assert info["params"] == sum(p.numel() for p in model.parameters())
    c1, c2 = info["cache_bytes"]["1000"], info["cache_bytes"]["2000"]
    full = [t for t in info["layer_types"] if t != "linear_attention"]
    window = model.config.window if "sliding_attention" in info["layer_types"] else None
    constant = lambda c: c["linear"] + c["sliding"]  # noqa: E731  (S layers hold window - 1 tokens past the window)
    assert c2["total"] - constant(c2) == 2 * (c1["total"] - constant(c1))  # KV (and DSA indexer keys) grow with context
    assert (c1["total"] > c1["linear"]) == bool(full)
    assert c2["linear"] == c1["linear"] and c2["sliding"] == c1["sliding"]  # recurrent + conv state and windows do not
    assert (c1["sliding"] > 0) == (window is not None) and (window is None or window < 1000)
    assert (c1["linear"] > 0) == (len(full) < len(info["layer_types"]))


def test_kimi_hybrid_saving_tends_to_the_full_layer_share():
    # LLLF keeps 1 layer in 4 as MLA: its cache tends to 1/4 of the all-MLA model's as context grows (75% saved),
    # and is above 1/4 at short context where the constant KDA state still counts
    fam = models.get_family("kimi_linear")
    hybrid, _ = fam.matched_config("LLLF", "base", 4096)
    full, _ = fam.matched_config("F", "base", 4096)
    ratios = [fam.cache_bytes(hybrid, c)["total"] / fam.cache_bytes(full, c)["total"] for c in (4096, 1 << 20)]
    assert ratios[0] > 0.28 and 0.25 < ratios[1] < 0.251
