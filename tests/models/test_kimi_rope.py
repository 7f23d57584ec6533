"""`model.rope` for kimi_linear (hybrid_eval/models/kimi_linear.py): Kimi's MLA with rotary position embeddings.

rope=false is today's model bit for bit (same config, same logits; an all-MLA model equals transformers' own, unwrapped
forward). rope=true: one MLA layer equals a hand-written MLA forward that rotates the query's rope slice and the shared
key slice with transformers' `apply_rotary_pos_emb` at cos/sin from transformers' `LlamaRotaryEmbedding` (base 10000);
a one-layer all-MLA model sees token order only with RoPE (NoPE attention over earlier tokens is a bag: permuting them
leaves the last position's logits unchanged); cached decoding equals the full forward (F, LLLF, SF; explicit and
derived positions; left-padded batches on plain and static caches); a saved checkpoint reloads with RoPE; a bad value,
or the knob on another family, is one line.
"""
from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, LlamaConfig
from transformers.models.deepseek_v3.modeling_deepseek_v3 import apply_rotary_pos_emb
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from hybrid_eval import models
from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.models import ModelConfigError, Preset, get_family
from hybrid_eval.models.binding import transformers_default
from hybrid_eval.models.kimi_linear import MLA_ROPE_THETA, ROPE_KEY
from tests.models.test_cached_decoding import cached_decode, recomputed_decode

FAMILY = get_family("kimi_linear")
W = 5  # the S layers' window: decoding below runs well past it
PATTERNS = ["F", "LLLF", "SF"]


def kimi(pattern: str, seed: int = 0, **knobs):
    """A tiny kimi_linear model (float32, eval), `knobs` passed to matched_config as `model.<knob>` would be."""
    config, _ = FAMILY.matched_config(pattern, "tiny", 64, pad_token_id=0, window=W, **knobs)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).eval()


def one_layer(rope: bool):
    """A one-layer all-MLA model (tiny width): the last position attends over its prefix exactly once."""
    config = FAMILY.hf_config("F", Preset(hidden=64, layers=1, heads=2, head_dim=32), 64, 192, pad_token_id=0,
                              rope=rope)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval()


@torch.no_grad()
def logits(model, ids, **kw):
    return model(input_ids=ids, use_cache=False, **kw).logits


IDS = torch.randint(3, 64, (2, 23), generator=torch.Generator().manual_seed(0))


# --- (a) rope=false is today's model ------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", PATTERNS)
def test_rope_false_is_todays_model_bit_for_bit(pattern):
    today, off = kimi(pattern), kimi(pattern, rope=False)
    assert off.config.to_dict() == today.config.to_dict() and not hasattr(off.config, ROPE_KEY)
    assert torch.equal(logits(off, IDS), logits(today, IDS))
    on = kimi(pattern, rope=True)  # same seed, same weights: RoPE is parameter-free
    assert getattr(on.config, ROPE_KEY) == MLA_ROPE_THETA == 10000.0
    assert all(torch.equal(a, b) for a, b in zip(on.state_dict().values(), off.state_dict().values()))
    assert (logits(on, IDS) - logits(off, IDS)).abs().max().item() > 1e-3


def test_rope_false_runs_transformers_own_mla_forward():
    # all-F: no KDA layer, so with the binding undone the model is transformers' KimiLinear as shipped
    model = kimi("F", rope=False)
    bound = logits(model, IDS)
    with transformers_default():
        plain = logits(model, IDS)
    assert torch.equal(bound, plain)


# --- (b) rope=true: the MLA layer against a hand-written reference -------------------------------------------------
def reference_mla(attn, h: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
    """DeepSeek-style MLA with RoPE, written out: query heads [nope | rope], the rope part and the shared key slice
    rotated at `position_ids` (cos/sin from transformers' LlamaRotaryEmbedding), causal softmax attention."""
    b, t, _ = h.shape
    nope, rope, v_dim, heads = attn.qk_nope_head_dim, attn.qk_rope_head_dim, attn.v_head_dim, attn.num_heads
    q = attn.q_proj(h).view(b, t, heads, nope + rope).transpose(1, 2)
    q_nope, q_pe = q[..., :nope], q[..., nope:]
    latent, k_pe = attn.kv_a_proj_with_mqa(h).split([attn.kv_lora_rank, rope], dim=-1)
    kv = attn.kv_b_proj(attn.kv_a_layernorm(latent)).view(b, t, heads, nope + v_dim).transpose(1, 2)
    k_nope, v = kv[..., :nope], kv[..., nope:]
    rotary = LlamaRotaryEmbedding(LlamaConfig(hidden_size=64, num_attention_heads=2, head_dim=rope,
                                              rope_theta=MLA_ROPE_THETA))
    cos, sin = rotary(h, position_ids)
    q_pe, k_pe = apply_rotary_pos_emb(q_pe, k_pe.view(b, 1, t, rope), cos, sin)
    q = torch.cat([q_nope, q_pe], -1)
    k = torch.cat([k_nope, k_pe.expand(b, heads, t, rope)], -1)
    scores = (q @ k.transpose(-1, -2)) * (nope + rope) ** -0.5
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, heads * v_dim)
    return attn.o_proj(out)


@torch.no_grad()
def test_an_mla_layer_with_rope_equals_the_reference_at_the_positions_given():
    model = kimi("F", rope=True)
    attn = model.model.layers[0].self_attn
    for proj in (attn.q_proj, attn.kv_a_proj_with_mqa, attn.kv_b_proj):  # from init's near-uniform attention to a
        proj.weight.mul_(4.0)  # peaked one, where positions move the weights by far more than the tolerance
    h = torch.randn(2, 11, model.config.hidden_size, generator=torch.Generator().manual_seed(1))
    # absolute positions, not 0..T-1 and not the same per row: irregular gaps, a left-padding-like offset
    pos = torch.stack([torch.tensor([0, 1, 2, 4, 7, 8, 12, 13, 20, 21, 30]), torch.arange(5, 16)])
    out, _ = attn(hidden_states=h, attention_mask=None, position_ids=pos)
    ref = reference_mla(attn, h, pos)
    assert (out - ref).abs().max().item() <= 1e-5
    # and the same layer without RoPE (the reference at position 0 everywhere: cos 1, sin 0) is transformers' NoPE
    zero = torch.zeros_like(pos)
    at_zero, _ = attn(hidden_states=h, attention_mask=None, position_ids=zero)
    assert (at_zero - reference_mla(attn, h, zero)).abs().max().item() <= 1e-5
    model.config.__dict__.pop(ROPE_KEY)
    nope, _ = attn(hidden_states=h, attention_mask=None, position_ids=pos)
    assert (nope - ref).abs().max().item() > 1e-2 and (nope - reference_mla(attn, h, zero)).abs().max() <= 1e-5


@torch.no_grad()
def test_without_position_ids_an_mla_layer_counts_from_its_cache_length():
    model = kimi("F", rope=True)
    attn = model.model.layers[1].self_attn
    h = torch.randn(2, 10, model.config.hidden_size, generator=torch.Generator().manual_seed(6))
    full = reference_mla(attn, h, torch.arange(10)[None].expand(2, -1))
    assert (attn(hidden_states=h, attention_mask=None)[0] - full).abs().max().item() <= 1e-5
    cache = models.make_cache(model)  # prefill 6 tokens, then one at a time: positions 6, 7, ... from the cache
    parts = [attn(hidden_states=h[:, :6], attention_mask=None, cache=cache)[0]]
    parts += [attn(hidden_states=h[:, i:i + 1], attention_mask=None, cache=cache)[0] for i in range(6, 10)]
    assert cache.get_seq_length(1) == 10 and (torch.cat(parts, 1) - full).abs().max().item() <= 1e-5


@torch.no_grad()
def test_only_rope_sees_the_order_of_earlier_tokens():
    ids = torch.randint(3, 64, (1, 16), generator=torch.Generator().manual_seed(2))
    shuffled = ids.clone()
    shuffled[0, :-1] = ids[0, :-1][torch.randperm(15, generator=torch.Generator().manual_seed(3))]
    nope, rope = one_layer(False), one_layer(True)
    # NoPE: the last query attends over a bag of (key, value) pairs, one per earlier token, whatever their order
    assert (logits(nope, ids)[0, -1] - logits(nope, shuffled)[0, -1]).abs().max().item() <= 1e-5
    assert (logits(rope, ids)[0, -1] - logits(rope, shuffled)[0, -1]).abs().max().item() > 1e-3
    # RoPE is relative: the same offset added to every position changes nothing; other gaps do, and NoPE ignores
    # positions. (The 2-D mask is passed: without one, transformers reads gaps in position_ids as packed sequences.)
    pos, mask = torch.arange(16)[None], torch.ones(1, 16, dtype=torch.long)
    base = logits(rope, ids, position_ids=pos, attention_mask=mask)
    assert torch.equal(base, logits(rope, ids))
    assert (logits(rope, ids, position_ids=pos + 1000, attention_mask=mask) - base).abs().max().item() <= 1e-4
    assert (logits(rope, ids, position_ids=2 * pos, attention_mask=mask) - base).abs().max().item() > 1e-3
    assert torch.equal(logits(nope, ids, position_ids=2 * pos, attention_mask=mask),
                       logits(nope, ids, position_ids=pos, attention_mask=mask))


# --- (c) cached decoding equals the full forward -------------------------------------------------------------------
@pytest.mark.parametrize("pattern", PATTERNS)
def test_cached_decoding_with_rope_equals_the_full_forward(pattern):
    model = kimi(pattern, rope=True)
    prompt = torch.randint(3, 64, (9,), generator=torch.Generator().manual_seed(4)).tolist()
    # positions passed (the harness's way): 9 + 12 tokens, past the S layers' window of 5
    tokens, steps = cached_decode(model, prompt, 12)
    ref_tokens, ref_steps = recomputed_decode(model, prompt, 12)
    assert tokens == ref_tokens and (steps - ref_steps).abs().max().item() <= 1e-4 and len(set(tokens)) > 1
    # positions derived by the model from the cache: prefill 7, then one token at a time
    seq = torch.tensor([prompt + tokens])
    full = logits(model, seq)[0]
    cache, kw = models.make_cache(model), models.cache_kwarg(model)
    with torch.no_grad():
        parts = [model(input_ids=seq[:, :7], use_cache=True, **{kw: cache}).logits[0]]
        cache.seen_tokens += 7
        for i in range(7, seq.shape[1]):
            parts.append(model(input_ids=seq[:, i:i + 1], use_cache=True, **{kw: cache}).logits[0])
            cache.seen_tokens += 1
    assert (torch.cat(parts) - full).abs().max().item() <= 1e-4


@pytest.mark.parametrize("pattern", ["F", "SF"])
def test_a_left_padded_batch_with_rope_decodes_each_prompt_as_alone(pattern):
    model = kimi(pattern, rope=True)
    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(3, 64, (k,), generator=g).tolist() for k in (3, 14, 8)]
    kw = dict(max_new_tokens=10, stop_ids={2}, pad_id=0)
    alone = [greedy(model, [p], **kw, decode="plain")[0] for p in prompts]
    assert greedy(model, prompts, **kw, decode="plain") == alone
    assert greedy(model, prompts, **kw, decode="static") == alone  # static buffers (S: ring of window slots)


# --- (d) a saved checkpoint reloads with RoPE ----------------------------------------------------------------------
def test_a_saved_rope_model_reloads_with_rope(tmp_path):
    model = kimi("SF", rope=True)
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert getattr(again.config, ROPE_KEY) == MLA_ROPE_THETA and again.config.window == W
    assert torch.equal(logits(again, IDS), logits(model, IDS))
    again.config.__dict__.pop(ROPE_KEY)  # the same weights as NoPE: what plain transformers would run
    assert (logits(again, IDS) - logits(model, IDS)).abs().max().item() > 1e-3


class WordTokenizer:
    pad_token_id, eos_token_id = 0, 1

    def __len__(self):
        return 64


def test_build_records_the_knob():
    for rope in (True, False):
        cfg = OmegaConf.create({"family": "kimi_linear", "pattern": "F", "size": "tiny", "window": 64, "rope": rope})
        models.validate(cfg)
        model, info = models.build(cfg, WordTokenizer(), seed=0)
        assert info["rope"] is rope and (getattr(model.config, ROPE_KEY, None) is not None) is rope
    _, info = models.build(OmegaConf.create({"family": "qwen3_next", "pattern": "F", "size": "tiny"}), WordTokenizer())
    assert "rope" not in info


# --- (e) bad values ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, 2.5, None])
def test_a_bad_rope_is_one_line(value):
    cfg = OmegaConf.create({"family": "kimi_linear", "pattern": "F", "size": "tiny", "rope": value})
    with pytest.raises(ModelConfigError) as err:
        models.validate(cfg)
    line = str(err.value)
    assert line == (f"model.rope={value!r} is not valid; accepted: true or false (rotary position embeddings on the "
                    f"MLA layers; default false, the released NoPE MLA)")


@pytest.mark.parametrize("family,pattern", [("qwen3_next", "F"), ("minimax", "F"), ("deepseek_v32", "dense")])
def test_rope_on_another_family_is_one_line(family, pattern):
    cfg = OmegaConf.create({"family": family, "pattern": pattern, "size": "tiny", "rope": True})
    with pytest.raises(ModelConfigError) as err:
        models.validate(cfg)
    assert str(err.value) == (f"model.rope=True is not a knob of {family}; accepted: model.rope only with "
                              f"model.family=kimi_linear")
    models.validate(OmegaConf.create({"family": family, "pattern": pattern, "size": "tiny", "rope": False}))
    # a kimi_linear config switched to another family by a preset keeps its rope: false and passes; true does not
    preset = OmegaConf.create({"family": "kimi_linear", "pattern": "F", "size": "tiny", "rope": False,
                               "preset": "qwen3_next"})
    models.validate(preset)
    preset.rope = True
    with pytest.raises(ModelConfigError, match=r"^model.rope=True is not a knob of qwen3_next"):
        models.validate(preset)


@pytest.mark.gpu
@pytest.mark.parametrize("pattern", PATTERNS)
def test_rope_decodes_through_a_cuda_graph_as_plain_decoding(pattern):
    """On CUDA: greedy decoding through the captured static step equals plain decoding (float32), past the window."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from hybrid_eval.harness.decode import static_decode as sd

    model = kimi(pattern, rope=True).cuda()
    g = torch.Generator().manual_seed(6)
    prompts = [torch.randint(3, 64, (n,), generator=g).tolist() for n in (5, 30, 17, 9)]
    kw = dict(max_new_tokens=24, stop_ids={2}, pad_id=0)
    plain = greedy(model, prompts, **kw, decode="plain")
    graph = greedy(model, prompts, **kw, decode="graph")
    assert graph == plain and sum(len(o) for o in graph) > len(prompts)
    assert sd.decoder_for(model, "graph").last_path == "graph"
