"""The linear layers of Qwen3-Next, Kimi Linear and MiniMax run through kernels/ (hybrid_eval/models/binding.py).

- By counting: one forward of a tiny LLLF/LLLLLLLF probe calls our op once per linear layer (and the short conv
  once per conv layer) on the backend the run asked for, prefill and single-token decode alike.
- Against transformers' own path (``transformers_default``): float32 logits of a prefill and of cached decode
  steps agree to 1e-4 (measured ~1e-6: the same recurrences, summed in another order), and every gradient of a
  loss to 1e-4 of the model's largest gradient. Gate parameters of heads whose decay is ~e^-10 per token have
  gradients ~1e-10 that differ at ~1e-9 (relative 5e-4 of their own maximum): the torch backend flushes decay
  products below e^-30 to exact zeros (hybrid_eval/kernels/common/chunk.py, EXP_FLOOR).
- ``kernels.backend=reference`` gives the same logits as ``torch`` (the specification vs the chunked form).
- Asking for fla on CPU tensors fails with one line, not inside Triton.
"""
import pytest
import torch

from hybrid_eval import kernels
from hybrid_eval import models
from hybrid_eval.models.binding import is_bound, transformers_default
from tests.models.families import tiny

# family, pattern, op, linear layers at tiny, short convs per forward
BOUND = [
    ("qwen3_next", "LLLF", "gated_delta", 3, 3),
    ("kimi_linear", "LLLF", "kda", 3, 3),
    ("minimax", "LLLLLLLF", "lightning", 7, 0),
]
ATOL = 1e-4


@pytest.fixture(autouse=True)
def _auto_backend():
    previous = kernels.set_backend("auto")
    yield
    kernels.set_backend(previous)


def _layers(config, kind="linear_attention") -> int:
    return sum(t == kind for t in config.layer_types)


@torch.no_grad()
def _prefill_and_decode(model, prompt, steps=3):
    """Logits of a prefill and of `steps` cached single-token decode steps (teacher-forced on the argmax)."""
    cache, kw = models.make_cache(model), models.cache_kwarg(model)
    out = [model(input_ids=torch.tensor([prompt]), use_cache=True, **{kw: cache}).logits[0, -1]]
    cache.seen_tokens += len(prompt)
    for _ in range(steps):
        t = int(out[-1].argmax())
        out.append(model(input_ids=torch.tensor([[t]]), position_ids=torch.tensor([[cache.seen_tokens]]),
                         use_cache=True, **{kw: cache}).logits[0, -1])
        cache.seen_tokens += 1
    return torch.stack(out)


def test_models_import_binds():
    assert is_bound()
    with transformers_default():
        assert not is_bound()
    assert is_bound()


def test_kimi_forget_gate_has_a_finite_gradient_where_transformers_gate_is_nan():
    """transformers' Kimi gate takes softplus as where(g > 20, g, log(1 + exp(g))): past g ~ 88.7 exp overflows and
    its gradient is 0 * inf = NaN (what made a kimi_linear L probe diverge on GPU). The bound gate gives the same
    values, and the exact gradient there: d sum(gate) / d dt_bias = -exp(A_log) per position."""
    gate = tiny("kimi_linear", "L").model.layers[0].self_attn.forget_gate
    x = torch.randn(2, 5, gate.f_a_proj.in_features)

    def run():
        gate.zero_grad()
        with torch.no_grad():
            gate.dt_bias.zero_()
            gate.dt_bias[0] = 100.0  # channel 0 of head 0 past the overflow
        out = gate(x)
        out.sum().backward()
        return out.detach(), gate.dt_bias.grad.clone()

    ours, grad = run()
    with transformers_default():
        theirs, their_grad = run()
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)
    assert torch.isnan(their_grad[0]) and torch.isfinite(grad).all()
    assert grad[0].item() == pytest.approx(-gate.A_log.detach().exp().flatten()[0].item() * 2 * 5, rel=1e-6)


@pytest.mark.parametrize("family,pattern,op,n_linear,n_conv", BOUND)
@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_forward_counts_our_op(family, pattern, op, n_linear, n_conv, backend):
    model = tiny(family, pattern)
    assert _layers(model.config) == n_linear
    kernels.set_backend(backend)
    kernels.calls.clear()
    _prefill_and_decode(model, [3, 5, 7, 9, 11], steps=2)  # one prefill + two decode steps = 3 forwards
    assert kernels.calls[(op, backend)] == 3 * n_linear
    assert kernels.calls[("short_conv", backend)] == 3 * n_conv
    other = {key: n for key, n in kernels.calls.items() if key[1] != backend}
    assert other == {}


@pytest.mark.parametrize("family,pattern,op,n_linear,n_conv", BOUND)
def test_bound_logits_equal_transformers_path(family, pattern, op, n_linear, n_conv):
    model = tiny(family, pattern)
    prompt = [(7 * i + 3) % 60 + 2 for i in range(150)]  # > 128 tokens: several chunks / blocks
    kernels.calls.clear()
    ours = _prefill_and_decode(model, prompt)
    assert kernels.calls[(op, "torch")] == 4 * n_linear
    kernels.calls.clear()
    with transformers_default():
        theirs = _prefill_and_decode(model, prompt)
    assert sum(kernels.calls.values()) == 0  # transformers' own functions ran, not ours
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("family,pattern,op,n_linear,n_conv", BOUND)
def test_bound_gradients_equal_transformers_path(family, pattern, op, n_linear, n_conv):
    ids = torch.tensor([[(5 * i + 1) % 60 + 2 for i in range(100)], [(3 * i + 2) % 60 + 2 for i in range(100)]])

    def grads():
        model = tiny(family, pattern).train()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    loss, ours = grads()
    with transformers_default():
        ref_loss, theirs = grads()
    torch.testing.assert_close(loss, ref_loss, atol=ATOL, rtol=0)
    assert ours.keys() <= theirs.keys()
    for name in theirs.keys() - ours.keys():  # MiniMax's router: no gradient here, exactly 0 there (one expert)
        assert not theirs[name].any(), name
    scale = max(g.abs().max() for g in theirs.values())  # the largest gradient anywhere in the model
    for name in ours:
        torch.testing.assert_close(ours[name] / scale, theirs[name] / scale, atol=ATOL, rtol=0, msg=name)


@pytest.mark.parametrize("family,pattern,op,n_linear,n_conv", BOUND)
def test_reference_backend_matches_torch(family, pattern, op, n_linear, n_conv):
    model = tiny(family, pattern)
    prompt = list(range(2, 60))
    kernels.set_backend("torch")
    fast = _prefill_and_decode(model, prompt, steps=2)
    kernels.set_backend("reference")
    spec = _prefill_and_decode(model, prompt, steps=2)
    torch.testing.assert_close(fast, spec, atol=ATOL, rtol=0)


def test_fla_on_cpu_model_is_one_line_error():
    model = tiny("qwen3_next", "L")
    kernels.set_backend("fla")
    with pytest.raises(ValueError, match="backend 'fla' needs") as err:
        model(input_ids=torch.tensor([[3, 4, 5]]))
    assert "\n" not in str(err.value)


@pytest.mark.gpu
@pytest.mark.parametrize("family,pattern,op,n_linear,n_conv", BOUND)
@pytest.mark.parametrize("dtype,atol", [(torch.float32, 2e-3), (torch.bfloat16, 6e-2)])
def test_fla_model_matches_torch(family, pattern, op, n_linear, n_conv, dtype, atol):
    """Whole model on CUDA: logits with fla within tolerance of the torch backend (fla computes in tf32 / bf16)."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    if not kernels.fla_available():
        pytest.skip("flash-linear-attention is not installed")
    model = tiny(family, pattern, dtype=dtype).cuda()
    ids = torch.tensor([[(7 * i + 3) % 60 + 2 for i in range(300)]], device="cuda")
    with torch.no_grad():
        kernels.set_backend("torch")
        ref = model(input_ids=ids).logits.float()
        kernels.calls.clear()
        kernels.set_backend("fla")
        got = model(input_ids=ids).logits.float()
    assert kernels.calls[(op, "fla")] == n_linear
    scale = ref.abs().max()
    torch.testing.assert_close(got / scale, ref / scale, atol=atol, rtol=0)
