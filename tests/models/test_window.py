"""Sliding-window attention (`S`, hybrid_eval/models/window.py) in every family: the model is causal, a token outside
an S layer's window has no influence, decoding past the window equals re-prefilling the whole sequence with the
window mask (dynamic and static caches, left-padded batches), and the cache bytes follow the formula at 32k.

Receptive field: in an all-S model of n layers with window W, position i sees tokens i - n (W - 1) .. i, so changing
token 0 must leave every logit past n (W - 1) bit-identical (the window mask gives the keys outside it an exact
zero weight); with one layer it must change positions 0 .. W - 1 (the mask lets exactly W tokens in, not fewer).
"""
from __future__ import annotations

import pytest
import torch

from hybrid_eval import models
from hybrid_eval.harness.decode import static_decode as sd
from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.models import ModelConfigError, get_family
from tests.models.families import CASES, tiny
from tests.models.test_cached_decoding import cached_decode, recomputed_decode

W = 5
ALL_S = {"qwen3_next": "S", "kimi_linear": "S", "minimax": "S", "deepseek_v32": "S"}
HYBRIDS = [("qwen3_next", "SSSF"), ("qwen3_next", "LS"), ("kimi_linear", "LLLS"), ("minimax", "SSSF"),
           ("minimax", "LLLS"), ("deepseek_v32", "SF")]


@torch.no_grad()
def logit_change(model, ids, position: int, new_token: int) -> torch.Tensor:
    """Max |logit change| per position when token `position` of `ids` (1, T) is replaced."""
    other = ids.clone()
    other[0, position] = new_token
    return (model(ids, use_cache=False).logits - model(other, use_cache=False).logits).abs().amax(-1)[0]


@pytest.mark.parametrize("family,pattern", CASES + HYBRIDS)
def test_every_pattern_is_causal(family, pattern):
    model = tiny(family, pattern, window=W)
    ids = torch.randint(3, 64, (1, 40), generator=torch.Generator().manual_seed(0))
    change = logit_change(model, ids, 20, 3 if int(ids[0, 20]) != 3 else 4)
    assert change[:20].max().item() == 0.0
    assert change[20:].max().item() > 1e-4


def one_layer(family: str, window: int):
    """A one-layer all-S model of `family` (tiny width): its receptive field is exactly the window."""
    from transformers import AutoModelForCausalLM

    from hybrid_eval.models import Preset

    config = get_family(family).hf_config("S", Preset(hidden=64, layers=1, heads=2, head_dim=32), 64, 192,
                                          pad_token_id=0, window=window)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval()


@pytest.mark.parametrize("family", list(ALL_S))
def test_a_token_outside_the_window_has_no_influence(family):
    ids = torch.randint(3, 64, (1, 3 * W), generator=torch.Generator().manual_seed(1))
    new = 3 if int(ids[0, 0]) != 3 else 4
    # one S layer: token 0 reaches positions 0 .. W-1 (the window counts the query itself) and nothing after
    change = logit_change(one_layer(family, W), ids, 0, new)
    assert change[:W].min().item() > 1e-4 and change[W:].max().item() == 0.0, change
    # tiny (4-8 S layers): nothing past n (W - 1), the furthest position token 0 can reach through n windows
    model = tiny(family, ALL_S[family], window=W)
    reach = model.config.num_hidden_layers * (W - 1)
    ids = torch.randint(3, 64, (1, reach + 12), generator=torch.Generator().manual_seed(1))
    change = logit_change(model, ids, 0, new)
    assert change[reach + 1:].max().item() == 0.0 and change[:W].min().item() > 1e-4, change
    # a window longer than the sequence is plain causal attention: token 0 reaches every position
    wide = logit_change(one_layer(family, 4096), ids, 0, new)
    assert wide.min().item() > 0


@pytest.mark.parametrize("family,pattern", HYBRIDS)
def test_decoding_past_the_window_equals_reprefilling_with_the_window_mask(family, pattern):
    model = tiny(family, pattern, window=W)
    prompt = torch.randint(3, 64, (13,), generator=torch.Generator().manual_seed(2)).tolist()
    tokens, logits = cached_decode(model, prompt, 12)  # the S layers' cache holds W - 1 keys
    ref_tokens, ref_logits = recomputed_decode(model, prompt, 12)  # no cache: the whole sequence under the mask
    assert tokens == ref_tokens and (logits - ref_logits).abs().max().item() <= 1e-4
    # a left-padded batch: plain (dynamic) and static caches (eager steps) give each prompt's own tokens
    g = torch.Generator().manual_seed(3)
    prompts = [torch.randint(3, 64, (k,), generator=g).tolist() for k in (3, 17, 9)]
    kw = dict(max_new_tokens=10, stop_ids={2}, pad_id=0)
    plain = greedy(model, prompts, **kw, decode="plain")
    assert plain == [greedy(model, [p], **kw, decode="plain")[0] for p in prompts]
    assert greedy(model, prompts, **kw, decode="static") == plain
    engine = sd.decoder_for(model, "static")
    assert engine.last_path == "static" and engine.moved == []


def test_window_cache_bytes_at_32k_follow_the_formula():
    # qwen3_next SSSF at base: 6 S layers keep window - 1 tokens of K and V, 2 F layers keep all 32768
    fam = get_family("qwen3_next")
    config, _ = fam.matched_config("SSSF", "base", 4096, window=1024)
    kv_token_layer = 2 * config.num_key_value_heads * config.head_dim * 2  # K and V, bf16
    got = fam.cache_bytes(config, 32768)
    assert got["full"] == 2 * 32768 * kv_token_layer
    assert got["sliding"] == 6 * 1023 * kv_token_layer
    assert got["total"] == (2 * 32768 + 6 * 1023) * kv_token_layer == 146_788_352  # 140.0 MiB; F: 512 MiB
    f_config, _ = fam.matched_config("F", "base", 4096)
    assert fam.cache_bytes(f_config, 32768)["total"] == 8 * 32768 * kv_token_layer == 512 << 20
    # below the window an S layer holds every token
    assert fam.cache_bytes(config, 500)["sliding"] == 6 * 500 * kv_token_layer


@pytest.mark.parametrize("family,pattern", HYBRIDS)
def test_describe_matches_the_cache_past_the_window(family, pattern):
    from hybrid_eval.models.cache import cache_tensors_bytes

    model = tiny(family, pattern, window=W)
    cache = models.make_cache(model)
    with torch.no_grad():
        model(input_ids=torch.randint(1, 64, (1, 23)), use_cache=True, **{models.cache_kwarg(model): cache})
    formula = models.describe(model, contexts=(23,), dtype_bytes=4)["cache_bytes"]["23"]["total"]
    assert formula == cache_tensors_bytes(cache)
    assert all(layer.keys.shape[-2] == W - 1 for layer in cache.layers if getattr(layer, "is_sliding", False))


@pytest.mark.parametrize("window", [1, 0, -3, "wide", 2.5, True])
def test_a_bad_window_is_one_line(window):
    from omegaconf import OmegaConf

    for family in ("qwen3_next", "deepseek_v32"):
        cfg = OmegaConf.create({"family": family, "pattern": "SF", "size": "tiny", "window": window})
        with pytest.raises(ModelConfigError, match="accepted: an integer >= 2") as err:
            models.validate(cfg)
        assert f"model.window={window!r}" in str(err.value) and "\n" not in str(err.value)


def test_a_pattern_without_s_records_no_window():
    config, _ = get_family("qwen3_next").matched_config("LLLF", "tiny", 64, window=8)
    assert getattr(config, "window_layers", None) is None and models.window.window_of(config) is None


def test_a_saved_window_reloads_windowed(tmp_path):
    from transformers import AutoModelForCausalLM

    model = tiny("qwen3_next", "SSSF", window=W)
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert (again.config.window, again.config.window_layers) == (W, [0, 1, 2])
    x = torch.randint(1, 64, (1, 4 * W), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(model(x, use_cache=False).logits, again(x, use_cache=False).logits)


@pytest.mark.parametrize("family,pattern", [("qwen3_next", "LS"), ("minimax", "SSSF"), ("deepseek_v32", "SF")])
def test_multi_turn_cache_reuse_past_the_window_equals_reprefilling(family, pattern):
    from hybrid_eval.harness.decode.conversation import Conversation

    model = tiny(family, pattern, window=W)
    rng = torch.Generator().manual_seed(5)
    for mode in ("plain", "static"):
        conv, ids = Conversation(model, decode=mode), torch.randint(3, 64, (9,), generator=rng).tolist()
        for _ in range(3):  # each turn extends the cache by the answer and new user tokens, well past W
            conv.extend_to(ids)
            out = conv.generate(max_new_tokens=6, stop_ids={2})
            assert out == greedy(model, [ids], max_new_tokens=6, stop_ids={2}, pad_id=0, decode="plain")[0]
            ids = ids + out + [2] + torch.randint(3, 64, (7,), generator=rng).tolist()
        assert conv.reprefills == 0 and len(ids) > 4 * W


def test_empty_rows_are_opened_and_nothing_else_changes():
    """A query row that sees no key becomes all keys (boolean and additive masks); every other row is untouched."""
    from hybrid_eval.models.window import unmask_empty_rows

    mask = torch.tensor([[True, False, False], [False, False, False], [True, True, False]])[None, None].repeat(2, 1, 1, 1)
    out = unmask_empty_rows(mask)
    assert out[:, :, 1].all() and torch.equal(out[:, :, [0, 2]], mask[:, :, [0, 2]])
    additive = torch.zeros(mask.shape).masked_fill(~mask, torch.finfo(torch.float32).min)
    opened = unmask_empty_rows(additive)
    assert (opened[:, :, 1] == 0).all() and torch.equal(opened[:, :, [0, 2]], additive[:, :, [0, 2]])
    assert unmask_empty_rows(None) is None


@pytest.mark.parametrize("family,pattern", [("minimax", "SSSSSSSF"), ("qwen3_next", "LS"), ("kimi_linear", "LLLS"),
                                            ("deepseek_v32", "SF")])
def test_a_right_padded_training_batch_past_the_window_equals_its_rows_alone(family, pattern):
    """Training batches are right-padded: a short row's padding queries past the window see no real key, so their mask
    row is empty (on CUDA, cuDNN attention's backward then returned NaN: reports/minimax-gap/h100-2026-12-06c). With
    those rows opened, the scored loss and every gradient equal the rows' own, unpadded, to float32 round-off."""
    from hybrid_eval.harness.train.loop import make_batch
    from hybrid_eval.harness.train.loss import scored_token_loss_sum

    model = tiny(family, pattern, window=W).train()
    g = torch.Generator().manual_seed(1)
    rows = [(torch.randint(3, 64, (n,), generator=g).tolist(), [i >= n // 2 for i in range(n)]) for n in (40, 9)]

    def loss_and_grads(encoded):
        model.zero_grad()
        total, _ = scored_token_loss_sum(model, *make_batch(encoded, 0, "cpu"))
        total.backward()
        return total.detach(), {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}

    batch_loss, batch_grads = loss_and_grads(rows)  # row 2: 31 padding tokens, 6 windows of 5 past its end
    alone = [loss_and_grads([r]) for r in rows]
    assert torch.allclose(batch_loss, alone[0][0] + alone[1][0], rtol=1e-5, atol=1e-5)
    for k, grad in batch_grads.items():
        assert torch.isfinite(grad).all(), k
        assert torch.allclose(grad, alone[0][1][k] + alone[1][1][k], rtol=1e-4, atol=1e-5), k


@pytest.mark.gpu
@pytest.mark.parametrize("family,pattern", [("minimax", "SSSSSSSF"), ("qwen3_next", "LS")])
def test_a_padded_bf16_training_step_on_cuda_has_finite_gradients(family, pattern):
    """The GPU fault the fix is for: bf16, sdpa's default backend (cuDNN on H100/H200), a right-padded batch of width
    64 mod 128 whose short row's padding runs past the window. Every gradient must be finite, at several widths."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from hybrid_eval.harness.train.loop import make_batch
    from hybrid_eval.harness.train.loss import scored_token_loss_sum

    model = tiny(family, pattern, window=8).cuda().train()
    g = torch.Generator().manual_seed(0)
    for width in (192, 320, 704):
        rows = [(torch.randint(3, 64, (n,), generator=g).tolist(), [True] * n) for n in (width, 20, width - 100)]
        model.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            total, _ = scored_token_loss_sum(model, *make_batch(rows, 0, "cuda"))
        total.backward()
        bad = [k for k, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
        assert torch.isfinite(total) and not bad, (width, bad[:3])
