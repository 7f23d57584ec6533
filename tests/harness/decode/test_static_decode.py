"""The decoding fast path (hybrid_eval/harness/decode/static_decode.py): static cache buffers give the tokens of the dynamic cache, for
every family x pattern at tiny, in left-padded batches and in multi-turn conversations; no decode step moves a cache
tensor (what a CUDA graph needs); fallbacks say why once. The graph path's control flow (step 1 eager, one capture,
replays, slots reused across calls and conversation turns, fallback when capture fails or a step moves a cache
tensor) runs on CPU with a stand-in graph whose replay is the step. On CUDA (`gpu` marker): real graph replays give
the plain path's tokens, in fp32 against the dynamic cache and in bf16 against the eager static steps.

DeepSeek-V3.2 sparse is xfail (not strict), as in tests/harness/decode/test_generate_batching.py: its indexer's top-k
choice flips with ~1e-7 differences between kernel shapes, and the static cache scores L = W + N slots where the
dynamic cache scores the W + t it holds.
"""
from __future__ import annotations

import logging

import pytest
import torch

from hybrid_eval.harness.decode import static_decode as sd
from hybrid_eval.harness.decode.conversation import Conversation
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.harness.decode.static_cache import StaticProbeCache, static_cache
from hybrid_eval.models import make_cache
from hybrid_eval.models.minimax import StaticMiniMaxCache
from tests.harness.evaluate.test_multiturn import CASES_MARKED
from tests.models.conftest import _one_thread  # noqa: F401  (autouse: one torch thread for these tiny models)
from tests.models.families import tiny

LENGTHS = (3, 17, 9, 30, 1, 12, 5, 22)  # left padding of up to 29 positions in a batch of 8
STEPS = 8
STOP = 2
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")




def prompts(seed: int = 1) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, 64, (n,), generator=g).tolist() for n in LENGTHS]


def decode(model, ps, mode, batch_size=8, steps=STEPS):
    return greedy(model, ps, max_new_tokens=steps, stop_ids={STOP}, pad_id=0, batch_size=batch_size, decode=mode)


@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_static_cache_decoding_equals_dynamic(family, pattern):
    model = tiny(family, pattern)
    ps = prompts()
    plain = decode(model, ps, "plain")
    static = decode(model, ps, "static")
    engine = sd.decoder_for(model, "static")
    assert engine.last_path == "static" and engine.moved == []  # every cache write of a step lands in place
    single = [decode(model, [p], "static", batch_size=1)[0] for p in ps]
    assert static == plain  # the static cache gives the dynamic cache's tokens
    assert single == static  # left padding changes no answer
    assert sum(len(o) for o in static) > len(ps)  # it generated something to compare
    cache = static_cache(model, 40)
    assert isinstance(cache, StaticMiniMaxCache if family == "minimax" else StaticProbeCache)


def _history(rng: torch.Generator, n: int) -> list[int]:
    return torch.randint(3, 64, (n,), generator=rng).tolist()


def three_turns(model, mode: str) -> tuple[list[list[int]], int]:
    """Answers of a 3-turn conversation decoded with `mode` (each history = the previous one + the model's answer +
    a stop token + new user tokens), and the conversation's fresh prefills after the first."""
    rng = torch.Generator().manual_seed(3)
    conv, ids, outs = Conversation(model, decode=mode), _history(rng, 11), []
    for _ in range(3):
        conv.extend_to(ids)
        outs.append(conv.generate(max_new_tokens=6, stop_ids={STOP}))
        ids = ids + outs[-1] + [STOP] + _history(rng, 7)
    return outs, conv.reprefills


@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_conversation_on_static_buffers_equals_plain(family, pattern):
    """Three turns on static buffers (eager steps) give the plain path's answers and no fresh prefill."""
    model = tiny(family, pattern)
    runs = {mode: three_turns(model, mode) for mode in ("plain", "static")}
    assert runs["static"] == runs["plain"]
    assert runs["static"][1] == 0 and any(runs["static"][0])
    # and both equal re-prefilling each turn's whole history
    rng = torch.Generator().manual_seed(3)
    ids = _history(rng, 11)
    for out in runs["static"][0]:
        assert decode(model, [ids], "plain", batch_size=1, steps=6)[0] == out
        ids = ids + out + [STOP] + _history(rng, 7)


def test_the_address_check_sees_a_replaced_state():
    """Negative control: MiniMax's own dynamic cache stores a new lightning state every step, which the check names."""
    model = tiny("minimax", "LLLF")
    cache, kw = make_cache(model), sd.StaticDecoder(model, graphs=False).kw
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7]]), use_cache=True, **{kw: cache})
        cache.seen_tokens += 3
        before = sd.tensor_addresses(cache)
        model(input_ids=torch.tensor([[8]]), position_ids=torch.tensor([[3]]), use_cache=True, **{kw: cache})
    moved = sd.moved_tensors(before, sd.tensor_addresses(cache))
    assert any("linear_cache" in p for p in moved), moved


def test_modes_resolve_per_device():
    cpu = torch.device("cpu")
    assert sd.resolve("auto", cpu) == "plain" and sd.resolve("static", cpu) == "static"
    assert sd.resolve("auto", torch.device("cuda")) == "graph"
    with pytest.raises(ConfigError) as e:
        sd.resolve("graph", cpu)
    assert "accepted here: auto, plain, static" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="accepted: auto, plain, static, graph"):
        sd.check_mode("turbo")
    assert sd.decoder_for(tiny("qwen3_next", "F"), "auto") is None  # CPU: the plain path


def test_fallback_to_plain_says_why_once(monkeypatch, caplog):
    model = tiny("qwen3_next", "LLLF")
    ps = prompts(seed=2)
    reference = decode(model, ps, "plain")

    def no_static(*args, **kwargs):
        raise RuntimeError("this architecture has no static layers")

    monkeypatch.setattr(sd, "static_cache", no_static)
    monkeypatch.setattr(sd, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.decode.static_decode"):
        assert decode(model, ps, "static", batch_size=4) == reference  # two batches, both plain
        assert decode(model, ps, "static", batch_size=4) == reference
    said = [r.getMessage() for r in caplog.records if r.name == "hybrid_eval.harness.decode.static_decode"]
    assert len(said) == 1 and "no static cache for this model (RuntimeError: this architecture" in said[0]
    assert "using the plain path" in said[0]


# --- the graph path's control flow, on CPU with a stand-in for the CUDA graph ----------------------

class FakeGraph:
    """What a correct CUDA graph of `step` does: nothing at capture, the step at each replay."""

    def __init__(self, step):
        self.step, self.replays = step, 0

    def replay(self):
        self.replays += 1
        self.step()


def graph_engine(model, monkeypatch, capture=FakeGraph):
    monkeypatch.setattr(sd, "warm_up", lambda step: step())
    monkeypatch.setattr(sd, "capture_graph", capture)
    monkeypatch.setattr(sd, "_warned", set())
    return sd.StaticDecoder(model, graphs=True)


def engine_decode(engine, ps, steps=STEPS):
    """greedy()'s batching around `engine.generate` (one left-padded batch), cut at the stop token."""
    width = max(map(len, ps))
    ids = torch.zeros((len(ps), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, p in enumerate(ps):
        ids[row, width - len(p):], mask[row, width - len(p):] = torch.tensor(p), 1
    out = engine.generate(ids, mask, steps, torch.tensor([STOP])).tolist()
    return [o[: o.index(STOP)] if STOP in o else o for o in out]


@pytest.mark.parametrize("family,pattern", [("qwen3_next", "LLLF"), ("kimi_linear", "LLLF"), ("minimax", "LLLLLLLF"),
                                            ("deepseek_v32", "dense")])
def test_graph_path_steps_capture_once_then_replay(family, pattern, monkeypatch):
    model = tiny(family, pattern)
    ps = prompts()
    engine = graph_engine(model, monkeypatch)
    assert engine_decode(engine, ps) == decode(model, ps, "plain")
    graph = engine.slots[(len(ps), sd.bucket(30 + STEPS))].graph
    assert engine.last_path == "graph" and engine.captures == 1 and graph.replays == STEPS - 2  # steps 2..N-1
    # the same shape again: the slot is rewound, its graph replays every step from step 1, nothing is recaptured
    ps2 = prompts(seed=5)
    assert engine_decode(engine, ps2) == decode(model, ps2, "plain")
    assert engine.captures == 1 and graph.replays == 2 * STEPS - 3
    # a conversation turn reuses a batch-1 slot the same way
    conv = Conversation(model, decode="plain")
    conv.extend_to(ps[3])
    fast = engine.continue_from(conv.cache, len(ps[3]), conv.logits, STEPS, torch.tensor([STOP]))[0].tolist()
    fast = fast[: fast.index(STOP)] if STOP in fast else fast
    assert fast == conv.generate(max_new_tokens=STEPS, stop_ids={STOP})
    assert engine.captures == 2


def test_failed_capture_falls_back_to_eager_static_steps(monkeypatch, caplog):
    model = tiny("qwen3_next", "LLLF")
    ps = prompts()

    def refuse(step):
        raise RuntimeError("CUDA error: operation not permitted when stream is capturing\nmore lines")

    engine = graph_engine(model, monkeypatch, capture=refuse)
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.decode.static_decode"):
        assert engine_decode(engine, ps) == decode(model, ps, "plain")
        assert engine_decode(engine, ps[:4]) == decode(model, ps[:4], "plain")
    said = [r.getMessage() for r in caplog.records if r.name == "hybrid_eval.harness.decode.static_decode"]
    line = refuse.__code__.co_firstlineno + 1
    assert said == ["qwen3_next decoding: CUDA graph capture failed (RuntimeError: CUDA error: operation not permitted "
                    f"when stream is capturing at harness/decode/test_static_decode.py:{line} in refuse); "
                    "decoding with eager static steps"]
    assert engine.last_path == "static" and engine.captures == 0 and not engine.graph_ok


@pytest.mark.parametrize("family,pattern", [("qwen3_next", "LS"), ("minimax", "SSSF"), ("deepseek_v32", "SF")])
def test_sliding_window_steps_are_captured_and_replayed_past_the_window(family, pattern, monkeypatch):
    """An S layer's static cache is a ring of window slots (models.window.RingWindowLayer) written and masked by
    tensor ops: its step is captured once and replayed far past the window (6 tokens; prompts of up to 30 plus 24
    new), giving the plain path's tokens in a left-padded batch and moving no cache tensor."""
    model = tiny(family, pattern, window=6)
    ps = prompts()
    engine = graph_engine(model, monkeypatch)
    assert engine_decode(engine, ps, steps=24) == decode(model, ps, "plain", steps=24)
    graph = engine.slots[(len(ps), sd.bucket(30 + 24))].graph
    assert engine.last_path == "graph" and engine.captures == 1 and graph.replays == 22 and engine.moved == []


def test_a_step_that_moves_a_cache_tensor_is_never_captured(monkeypatch, caplog):
    """A lightning layer whose cache stores a new state tensor each step (as MiniMax's own cache does)."""
    model = tiny("minimax", "LLLF")
    ps = prompts()

    def replace(self, layer_idx, state):
        self.linear_cache[layer_idx] = state.clone()
        self.has_linear_state[layer_idx] = True

    monkeypatch.setattr(StaticMiniMaxCache, "set_linear_cache", replace)
    engine = graph_engine(model, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.decode.static_decode"):
        assert engine_decode(engine, ps) == decode(model, ps, "plain")
    said = [r.getMessage() for r in caplog.records if r.name == "hybrid_eval.harness.decode.static_decode"]
    assert len(said) == 1 and "replaced cache tensors instead of writing into them (cache.linear_cache[0]" in said[0]
    assert engine.last_path == "static" and engine.captures == 0


# --- CUDA: graph replays -------------------------------------------------------------------------

@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_graph_decoding_equals_plain_on_gpu(family, pattern, caplog):
    model = tiny(family, pattern).cuda()
    ps = prompts()
    plain = decode(model, ps, "plain")
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.decode.static_decode"):
        graph = decode(model, ps, "graph")
        path = sd.decoder_for(model, "graph").last_path
        single = [decode(model, [p], "graph", batch_size=1)[0] for p in ps]
    assert graph == plain
    assert single == graph
    assert sum(len(o) for o in graph) > len(ps)
    # MiniMax captures since graph_safe_experts (before it, grouped_mm's histc copied from the host)
    assert path == "graph", f"no CUDA graph for {family} {pattern}: {caplog.text}"


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_graph_replays_are_the_eager_static_steps_in_bf16(family, pattern):
    """Same kernels, replayed: bf16 tokens of graph and eager static decoding are identical, 24 steps."""
    model = tiny(family, pattern, dtype=torch.bfloat16).cuda()
    ps = prompts(seed=4)
    graph = decode(model, ps, "graph", steps=24)
    path = sd.decoder_for(model, "graph").last_path  # read before the static run replaces the model's engine
    assert graph == decode(model, ps, "static", steps=24)
    assert path == "graph"


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("family,pattern", [("qwen3_next", "LS"), ("kimi_linear", "SSSF"), ("minimax", "SSSF"),
                                            ("deepseek_v32", "SF")])
def test_graph_decoding_past_the_window_equals_plain_on_gpu(family, pattern):
    """Real CUDA graph replays of the ring window (6 tokens) for 24 steps after prompts of up to 30 tokens."""
    model = tiny(family, pattern, window=6).cuda()
    ps = prompts(seed=6)
    graph = decode(model, ps, "graph", steps=24)
    assert sd.decoder_for(model, "graph").last_path == "graph"
    assert graph == decode(model, ps, "plain", steps=24)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_conversation_graph_equals_plain_on_gpu(family, pattern):
    model = tiny(family, pattern).cuda()
    runs = {mode: three_turns(model, mode)[0] for mode in ("plain", "graph")}
    assert runs["graph"] == runs["plain"] and any(runs["graph"])


def test_capture_failure_names_the_model_line():
    """A failed capture's warning says where, outside torch, the offending op was called (file:line in function)."""

    def model_step():
        return torch.zeros(2).view(3)  # raises inside torch, called from this line

    try:
        model_step()
    except RuntimeError as e:
        where = sd._where(e)
    line = model_step.__code__.co_firstlineno + 1
    assert where == f" at harness/decode/test_static_decode.py:{line} in model_step"


def test_capture_routes_moe_through_batched_mm_with_the_same_logits(monkeypatch):
    """MiniMax's experts are captured through `batched_mm` (grouped_mm's histc copies from the host on CUDA):
    inside graph_safe_experts that implementation runs, outside the model's own does, and the logits agree. Two
    experts, as a real checkpoint has: a probe's one-expert block runs as a plain MLP (models/minimax.py one_expert)."""
    from transformers import AutoModelForCausalLM
    from transformers.integrations import moe

    from hybrid_eval.models import get_family

    config, _ = get_family("minimax").matched_config("LLLLLLLF", "tiny", 64, pad_token_id=0)
    config.num_local_experts = 2
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    calls = []
    original = moe.ALL_EXPERTS_FUNCTIONS["batched_mm"]
    monkeypatch.setitem(moe.ALL_EXPERTS_FUNCTIONS, "batched_mm", lambda *a, **k: calls.append(1) or original(*a, **k))
    ids = torch.randint(1, 64, (2, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = model(ids).logits
        assert calls == []
        with sd.graph_safe_experts(model):
            assert model.config._experts_implementation == "batched_mm"
            captured = model(ids).logits
        assert len(calls) == len(model.model.layers)
        with sd.graph_safe_experts(model, on=False):
            assert model.config._experts_implementation == "grouped_mm"
    assert model.config._experts_implementation == "grouped_mm"
    torch.testing.assert_close(captured, plain, rtol=0, atol=1e-6)
