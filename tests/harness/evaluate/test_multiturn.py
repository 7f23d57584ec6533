"""Multi-turn evaluation: cache reuse gives the outputs of re-prefilling the whole history at every turn, for every
family x pattern at tiny, teacher-forced and interactive; interactive episodes run the model's calls in the task's
environment; pass^k over sampled episodes; `eval.multi_turn`, `max_turns`, `samples_k` are validated.

DeepSeek-V3.2 sparse is xfail (not strict). Its indexer keeps the top-k keys by score, a discontinuous choice:
measured on this model, a 32-token prefix prefilled as 29 + 3 tokens gives logits 5e-2 away from the same prefix
prefilled whole, where the last layer's 4th and 5th index scores agree to 1e-4 and another layer's are exact ties
at 0 (ReLU), so ~1e-7 differences between kernel shapes change which keys are kept. Dense DeepSeek and every other
family match token for token.
"""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hybrid_eval.harness.evaluate import scoring as ev
from hybrid_eval.harness.decode.conversation import Conversation
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.models.tokenizer import build_probe_tokenizer, chat_ids
from hybrid_eval.tasks.base import words
from hybrid_eval.tasks.data import answer_budgets
from hybrid_eval.tasks.multi_turn.tool_episode import ToolEpisode
from tests.models.families import CASES, tiny

SPARSE_TIES = "deepseek_v32 sparse: the indexer's top-k choice flips with ~1e-7 kernel differences (module docstring)"
CASES_MARKED = [pytest.param(f, p, marks=pytest.mark.xfail(reason=SPARSE_TIES, strict=False))
                if (f, p) == ("deepseek_v32", "sparse") else (f, p) for f, p in CASES]


class Reprefill:
    """The old path as a reference: every turn is a fresh batch-1 `greedy` over the whole history."""

    def __init__(self, model, **_):
        self.model, self.ids, self.tokens_run, self.reprefills = model, None, 0, 0

    def extend_to(self, ids):
        self.ids = list(ids)

    def generate(self, *, max_new_tokens, stop_ids):
        return greedy(self.model, [self.ids], max_new_tokens=max_new_tokens, stop_ids=stop_ids, pad_id=0, batch_size=1)[0]


@pytest.fixture(scope="module")
def episode():
    task = ToolEpisode(turns=3, n_accounts=2, n_files=1, n_events=1)
    examples = task.generate(2, seed=0, split="test")
    vocab = set(task.vocabulary())
    for ex in examples:
        for m in ex["messages"]:
            vocab.update(words(m["content"]))
    return task, examples, build_probe_tokenizer(vocab)


def cfg(**over):
    return OmegaConf.create({"batch_size": 4, "max_new_tokens": 6, "multi_turn": "teacher_forced", "max_turns": None, **over})


def run(model, tok, task, examples, conf, conversation, monkeypatch):
    monkeypatch.setattr(ev, "Conversation", conversation)
    return ev.evaluate(model, tok, {task.name: task}, {task.name: examples}, conf)


@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_cache_reuse_equals_reprefilling_every_turn(family, pattern, episode, monkeypatch):
    task, examples, tok = episode
    # one episode with a short system message (the tool list is ~130 of ~170 tokens) keeps the 12 cases quick on CPU
    examples = [{**ex, "messages": [{"role": "system", "content": "you act for the user ."}] + ex["messages"][1:]}
                for ex in examples[:1]]
    model = tiny(family, pattern, vocab_size=len(tok))
    for mode in ("teacher_forced", "interactive"):
        reused = run(model, tok, task, examples, cfg(multi_turn=mode), Conversation, monkeypatch)
        reference = run(model, tok, task, examples, cfg(multi_turn=mode), Reprefill, monkeypatch)
        assert [r["outputs"] for r in reused] == [r["outputs"] for r in reference], mode
        assert [r.get("transcript") for r in reused] == [r.get("transcript") for r in reference], mode
        assert all(r["reprefills"] == 0 for r in reused)  # the probe template is prefix-stable: one prefill each
        assert any(o for r in reused for o in r["outputs"])  # something was generated to compare
        # cost: each token of the final history runs once, plus decoding; re-prefilling runs every prefix again
        budget = answer_budgets(tok, {task.name: examples}, cfg().max_new_tokens)[task.name]  # per turn (hybrid_eval/harness/evaluate/scoring.py)
        for r, ex in zip(reused, examples):
            last = chat_ids(tok, (r.get("transcript") or ex["messages"])[: ex["scored_turns"][-1]], add_generation_prompt=True)
            assert r["tokens_run"] <= len(last) + len(ex["scored_turns"]) * budget


def _oracle(tok, answers):
    """A Conversation that answers the queued lines in order (a perfect, or a scripted, agent)."""

    class Oracle(Conversation):
        def generate(self, *, max_new_tokens, stop_ids, **sampling):
            return tok(answers.pop(0), add_special_tokens=False)["input_ids"]

    return Oracle


def test_interactive_runs_the_models_calls_in_the_environment(episode, monkeypatch):
    task, examples, tok = episode
    ex = examples[0]
    gold = [ex["messages"][t]["content"] for t in ex["scored_turns"]]
    model = tiny("qwen3_next", "L", vocab_size=len(tok))
    # a perfect agent: the transcript is the gold one, every turn and the final state match
    (rec,) = run(model, tok, task, [ex], cfg(multi_turn="interactive"), _oracle(tok, list(gold)), monkeypatch)
    assert rec["turn_scores"] == [1.0, 1.0, 1.0] and rec["score"] == 1.0 and rec["final_state_match"] is True
    tool = [m["content"] for m in rec["transcript"] if m["role"] == "tool"]
    assert tool == [m["content"] for m in ex["messages"] if m["role"] == "tool"] and rec["transcript"][-1]["role"] == "tool"
    # an agent whose line at the first state-changing turn does not parse: the environment says so, the state
    # never gets that action (the read-only tools change nothing, so breaking one of those would still match)
    k = next(i for i, g in enumerate(gold) if not g.startswith(("call get_balance", "call read_file", "call list_events")))
    lines = gold[:k] + ["open sesame"] + gold[k + 1:]
    (rec,) = run(model, tok, task, [ex], cfg(multi_turn="interactive"), _oracle(tok, lines), monkeypatch)
    tool = [m["content"] for m in rec["transcript"] if m["role"] == "tool"]
    assert tool[k] == "error : not a valid call"
    assert rec["turn_scores"][k] == 0.0 and rec["score"] == pytest.approx(2 / 3) and rec["final_state_match"] is False
    # a turn budget of 2: the third turn is never generated and scores 0
    (rec,) = run(model, tok, task, [ex], cfg(multi_turn="interactive", max_turns=2), _oracle(tok, list(gold)), monkeypatch)
    assert rec["turns_run"] == 2 and rec["outputs"][2] == "" and rec["turn_scores"] == [1.0, 1.0, 0.0]
    assert [m["role"] for m in rec["transcript"]] == ["system", "user", "assistant", "tool", "user", "assistant", "tool"]


def test_teacher_forced_keeps_the_gold_history_after_a_wrong_answer(episode, monkeypatch):
    task, examples, tok = episode
    ex = examples[1]  # its first call opens an account, so getting it wrong changes the end state
    gold = [ex["messages"][t]["content"] for t in ex["scored_turns"]]
    model = tiny("qwen3_next", "LLLF", vocab_size=len(tok))
    (rec,) = run(model, tok, task, [ex], cfg(), _oracle(tok, ["open sesame"] + gold[1:]), monkeypatch)
    assert rec["turn_scores"] == [0.0, 1.0, 1.0] and rec["final_state_match"] is False and "transcript" not in rec and rec["mode"] == "teacher_forced"


def test_pass_k_over_sampled_episodes(episode, monkeypatch):
    task, examples, tok = episode
    ex = examples[1]
    gold = [ex["messages"][t]["content"] for t in ex["scored_turns"]]
    model = tiny("qwen3_next", "L", vocab_size=len(tok))
    conf = cfg(multi_turn="interactive", samples_k=3, temperature=1.0)
    # samples 1 and 3 perfect, sample 2 misses the account it must open: successes [T, F, T]
    lines = gold + ["open sesame"] + gold[1:] + gold
    (rec,) = run(model, tok, task, [ex], conf, _oracle(tok, lines), monkeypatch)
    assert [s["success"] for s in rec["samples"]] == [True, False, True]
    assert rec["pass_hat_k"] == 0.0 and rec["pass_at_k"] == 1.0  # C(2,3)/C(3,3) = 0; 1 - C(1,3)/C(3,3) = 1
    assert rec["score"] == pytest.approx((1 + 2 / 3 + 1) / 3) and rec["turn_scores"] == [1.0, 1.0, 1.0]
    # real sampling: reproducible run to run, and the samples differ from one another
    monkeypatch.setattr(ev, "Conversation", Conversation)
    a = ev.evaluate(model, tok, {task.name: task}, {task.name: [ex]}, cfg(samples_k=2, max_new_tokens=4))[0]
    b = ev.evaluate(model, tok, {task.name: task}, {task.name: [ex]}, cfg(samples_k=2, max_new_tokens=4))[0]
    assert a["samples"] == b["samples"]
    assert a["samples"][0]["outputs"] != a["samples"][1]["outputs"]


@pytest.mark.parametrize("over,accepted", [({"multi_turn": "agentic"}, "teacher_forced, interactive"),
                                           ({"max_turns": 0}, "an integer >= 1"),
                                           ({"samples_k": 0}, "an integer >= 1"),
                                           ({"samples_k": 2, "temperature": 0}, "a number > 0"),
                                           ({"decode": "fast"}, "auto, plain, static, graph")])
def test_bad_eval_config_is_one_line(over, accepted):
    with pytest.raises(ConfigError) as e:
        ev.check_eval_config(cfg(**over))
    assert accepted in str(e.value) and "\n" not in str(e.value)
