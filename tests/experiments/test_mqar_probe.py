"""The diagnosis switches of mqar_probe do what reports/probe-training.md §4 says they do."""

import pytest
import torch

import mqar_probe

ARGS = mqar_probe.parser().parse_args(["out.jsonl", "run", "--d", "64", "--layers", "1", "--keys", "8", "--values", "8"])


def _probe(spec):
    family, pattern, init, _, opts, a = mqar_probe.parse(spec, ARGS)
    return mqar_probe.build(family, pattern, init, opts, a)


def _gdn(opts):
    return _probe(":".join(["qwen3_next:L:recipe:1e-3", *opts])).model.layers[0].linear_attn


def test_no_decay_makes_every_decay_one_and_freezes_it():
    layer = _gdn(["no_decay"])
    assert layer.A_log.exp().max() < 1e-12 and not layer.A_log.requires_grad
    assert _gdn([]).A_log.exp().min() > 1e-3  # the recipe init decays


def test_slow_dt_draws_dt_between_1e_4_and_1e_3():
    dt = torch.nn.functional.softplus(_gdn(["slow_dt"]).dt_bias)
    assert dt.min() >= 1e-4 * (1 - 1e-4) and dt.max() <= 1e-3 * (1 + 1e-4)
    recipe = torch.nn.functional.softplus(_gdn([]).dt_bias)
    assert recipe.min() >= 1e-3 * (1 - 1e-4)


def test_fixed_gate_ignores_the_gate_and_halves_the_normed_output():
    norm = _gdn(["fixed_gate"]).norm
    x, g1, g2 = torch.randn(3, 5, 64).unbind(0)
    out1, out2 = norm(x, g1), norm(x, g2)
    assert torch.equal(out1, out2)
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)
    torch.testing.assert_close(out1, 0.5 * normed)
    free = _gdn([]).norm
    assert not torch.allclose(free(x, g1), free(x, g2))


@pytest.mark.parametrize("opt,needle", [("nodecay", "unknown option 'nodecay'"), ("width=3", "unknown setting 'width'")])
def test_unknown_switch_is_one_line(opt, needle):
    with pytest.raises(SystemExit, match=needle):
        mqar_probe.parse(f"qwen3_next:L:recipe:1e-3:{opt}", ARGS)


def test_warmup_seed_and_curriculum_are_per_run_settings():
    *_, a = mqar_probe.parse("qwen3_next:F:recipe:1e-3:warmup=300:seed=2:curriculum=50", ARGS)
    assert (a.warmup, a.seed, a.curriculum, ARGS.warmup, ARGS.seed, ARGS.curriculum) == (300, 2, 50, -1, 0, 0)


def test_fixed_attn_gate_holds_the_attention_output_gate_at_one_half():
    family, pattern, init, _, opts, a = mqar_probe.parse("qwen3_next:F:recipe:1e-3:fixed_attn_gate", ARGS)
    model = mqar_probe.build(family, pattern, init, opts, a)
    attn = model.model.layers[0].self_attn
    d = attn.head_dim
    x = torch.randn(2, 5, a.d)
    gate = attn.q_proj(x).view(2, 5, -1, 2 * d)[..., d:]
    assert gate.abs().max().item() == 0.0  # sigmoid(0) = 0.5 on every head
    model(torch.randint(4, 20, (2, 8)), labels=torch.randint(4, 20, (2, 8))).loss.backward()
    grad = attn.q_proj.weight.grad.view(-1, 2 * d, a.d)
    assert grad[:, d:].abs().max().item() == 0.0 and grad[:, :d].abs().max().item() > 0.0


def test_blank_filler_replaces_the_distractor_keys_with_one_token():
    g = torch.Generator().manual_seed(0)
    x, y = mqar_probe.mqar_batch(3, 2, 16, 8, 8, g, torch.device("cpu"), filler="blank")
    # 2 pairs (4 tokens), a gap of 16 - 4 * 2 = 8 blanks, 2 queries each followed by its value (ids >= 4 + 8)
    assert x[:, 4:12].eq(3).all() and not x[:, :4].eq(3).any() and not x[:, 12:].eq(3).any()
    assert (y != -100).sum().item() == 3 * 2 and y[:, 13].ge(12).all() and y[:, 15].ge(12).all()
    with pytest.raises(SystemExit, match="filler='none'.*accepted: keys, fresh_keys, blank"):
        mqar_probe.parse("kimi_linear:L:recipe:1e-3:filler=none", ARGS)


def test_gap_curriculum_grows_the_gap_from_zero_to_the_full_sequence():
    *_, a = mqar_probe.parse("kimi_linear:L:recipe:1e-3:kv=4:seq=64:gap_curriculum=100", ARGS)
    shapes = [mqar_probe.train_shape(step, a) for step in (0, 50, 100, 500)]
    assert shapes == [(4, 16), (4, 16 + 24), (4, 64), (4, 64)]  # gap 0, half of 48, 48, 48
    *_, plain = mqar_probe.parse("kimi_linear:L:recipe:1e-3:kv=4:seq=64", ARGS)
    assert mqar_probe.train_shape(0, plain) == (4, 64)
    *_, pairs = mqar_probe.parse("kimi_linear:L:recipe:1e-3:kv=4:seq=64:curriculum=4", ARGS)
    assert [mqar_probe.train_shape(s, pairs) for s in (0, 1, 3)] == [(2, 64), (2, 64), (4, 64)]


def test_mix_draws_every_pair_count_from_two_to_kv_and_keeps_the_sequence():
    *_, a = mqar_probe.parse("qwen3_next:F:recipe:1e-3:kv=8:seq=32:mix=1", ARGS)
    shapes = [mqar_probe.train_shape(step, a) for step in range(400)]
    assert {kv for kv, _ in shapes} == set(range(2, 9)) and {seq for _, seq in shapes} == {32}
    assert shapes == [mqar_probe.train_shape(step, a) for step in range(400)]  # a function of (seed, step)


def test_conv_embed_starts_as_the_plain_model_and_is_causal():
    family, pattern, init, _, opts, a = mqar_probe.parse("qwen3_next:F:recipe:1e-3:conv_embed", ARGS)
    model = mqar_probe.build(family, pattern, init, opts, a)
    *_, plain_opts, b = mqar_probe.parse("qwen3_next:F:recipe:1e-3", ARGS)
    plain = mqar_probe.build(family, pattern, init, plain_opts, b)
    x = torch.randint(4, 20, (2, 9))
    torch.testing.assert_close(model(x).logits, plain(x).logits)  # zero-initialised convolution
    conv = model.model.embed_tokens
    torch.nn.init.normal_(conv.conv.weight)
    y = x.clone()
    y[:, 5] = 4 if y[0, 5] != 4 else 5
    e_x, e_y = conv(x), conv(y)
    torch.testing.assert_close(e_x[:, :5], e_y[:, :5])  # a change at position 5 reaches no earlier position
    assert not torch.allclose(e_x[:, 6:9], e_y[:, 6:9])  # and does reach the next three
    assert any(p is conv.conv.weight for p in model.parameters())  # trained with the rest


@pytest.mark.parametrize("base", ["qwen3_next:F:recipe:1e-3", "llama:F:transformers:1e-3"])
def test_no_rope_makes_attention_blind_to_positions(base):
    x = torch.randint(4, 20, (2, 9))
    stretched = torch.arange(9).expand(2, 9) * 5  # every distance times 5: RoPE scores change, NoPE ones cannot
    for switch, blind in (("", False), (":no_rope", True)):
        model = _probe(base + switch)
        with torch.no_grad():
            same = torch.allclose(model(x).logits, model(x, position_ids=stretched).logits, atol=1e-5)
        assert same == blind


def test_full_rope_rotates_every_head_dimension():
    rotated = {switch: _probe("qwen3_next:F:recipe:1e-3" + switch).model.rotary_emb.inv_freq.numel() * 2
               for switch in ("", ":full_rope")}
    assert rotated == {"": 16, ":full_rope": 64}  # Qwen3-Next's partial_rotary_factor 0.25 of head_dim 64, then all


def test_rope_theta_sets_the_base_frequency():
    for setting, theta in (("", 10_000.0), (":rope_theta=1e7", 1e7)):
        inv_freq = _probe("qwen3_next:F:recipe:1e-3" + setting).model.rotary_emb.inv_freq
        assert inv_freq[1].item() == pytest.approx(theta ** (-2 / 16), rel=1e-5)  # 16 rotated dims


def test_llama_control_is_plain_attention_and_refuses_other_patterns():
    model = _probe("llama:F:transformers:1e-3")
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.num_hidden_layers == ARGS.layers
    assert model.model.rotary_emb.inv_freq.numel() * 2 == 64  # RoPE on the whole head
    for bad in ("llama:L:transformers:1e-3", "llama:F:recipe:1e-3"):
        with pytest.raises(SystemExit, match="llama control is pattern F with init transformers"):
            _probe(bad)
    for bad in ("kimi_linear:F:recipe:1e-3:rope_theta=1e6", "kimi_linear:F:recipe:1e-3:no_rope"):
        with pytest.raises(SystemExit, match="has no rotary embedding"):
            _probe(bad)


@pytest.mark.parametrize("spec", ["llama:F:transformers:1e-3:fixed_attn_gate", "kimi_linear:L:recipe:1e-3:fixed_gate",
                                  "qwen3_next:F:recipe:1e-3:slow_dt"])
def test_a_switch_that_changes_nothing_stops_the_run(spec):
    with pytest.raises(SystemExit, match=f"switch '{spec.rsplit(':', 1)[1]}' changes nothing"):
        _probe(spec)


def test_no_qk_norm_makes_attention_scores_depend_on_the_key_scale():
    x = torch.randint(4, 20, (2, 9))
    for switch, sensitive in (("", False), (":no_qk_norm", True)):
        model = _probe("qwen3_next:F:recipe:1e-3" + switch)
        with torch.no_grad():
            before = model(x).logits
            model.model.layers[0].self_attn.k_proj.weight.mul_(3.0)  # RMSNorm on the keys undoes any scale
            assert torch.allclose(before, model(x).logits, atol=1e-5) != sensitive


def test_fresh_keys_filler_never_repeats_a_stored_key():
    g = torch.Generator().manual_seed(1)
    x, y = mqar_probe.mqar_batch(64, 4, 64, 8, 8, g, torch.device("cpu"), filler="fresh_keys")
    stored, gap = x[:, 0:8:2], x[:, 8:56]
    assert gap.ge(4).all() and gap.lt(12).all()  # keys only
    assert not (gap[:, :, None] == stored[:, None, :]).any()  # none of the 4 stored keys
    assert len(gap.unique()) == 8  # and every other key occurs
    g = torch.Generator().manual_seed(1)
    x_any, _ = mqar_probe.mqar_batch(64, 4, 64, 8, 8, g, torch.device("cpu"), filler="keys")
    assert (x_any[:, 8:56, None] == x_any[:, None, 0:8:2]).any()  # plain keys do repeat them
