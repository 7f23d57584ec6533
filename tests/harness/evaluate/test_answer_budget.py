"""Generation budget per task (tasks.data.answer_budgets, hybrid_eval/harness/evaluate/scoring.py): `eval.max_new_tokens` is a floor, raised
to a task's longest gold answer, so a model that answers right is never scored on a cut-off answer. Before, mqar with
16 pairs (32 answer tokens) was cut at 16 tokens and a perfect model scored 50%."""
from __future__ import annotations

from omegaconf import OmegaConf

from hybrid_eval.harness.evaluate import scoring as ev
from hybrid_eval.harness.run import suite_tokenizer
from hybrid_eval.models.tokenizer import chat_ids
from hybrid_eval.tasks.data import Suite, answer_budgets, load_splits


def _suite(path):
    cfg = OmegaConf.load(path)
    suite = Suite.from_config(cfg)
    data = {t.alias: load_splits(t, {"test": 12}, seed=cfg.seed, cache_dir=None) for t in suite.tasks}
    return suite, data, suite_tokenizer(suite, data)


def test_budget_is_the_floor_raised_to_the_longest_gold_answer():
    suite, data, tok = _suite("conf/suite/mqar_base.yaml")
    test = {k: v["test"] for k, v in data.items()}
    assert answer_budgets(tok, test, 16) == {"mqar": 32}  # 16 pairs: "key value" each, one token per word
    assert answer_budgets(tok, test, 40) == {"mqar": 40}
    suite, data, tok = _suite("conf/suite/quick.yaml")  # the default run: every answer fits the default 16
    assert answer_budgets(tok, {k: v["test"] for k, v in data.items()}, 16) == {"one_fact_qa": 16, "mqar": 16, "fact_recall": 16}


def test_a_perfect_model_is_not_cut_off(monkeypatch):
    """A stand-in decoder that emits each prompt's gold answer, at most max_new_tokens of it: mqar_base scores 100%."""
    suite, data, tok = _suite("conf/suite/mqar_base.yaml")
    examples = data["mqar"]["test"]
    gold = {tuple(chat_ids(tok, ex["messages"][: ex["scored_turns"][0]], add_generation_prompt=True)):
            tok.encode(ex["messages"][ex["scored_turns"][0]]["content"], add_special_tokens=False) for ex in examples}
    asked = []

    def oracle(model, prompts, *, max_new_tokens, **_):
        asked.append(max_new_tokens)
        return [gold[tuple(p)][:max_new_tokens] for p in prompts]

    monkeypatch.setattr(ev, "greedy", oracle)
    monkeypatch.setattr(ev, "release", lambda model: None)
    cfg = OmegaConf.create({"batch_size": 4, "max_new_tokens": 16, "multi_turn": "teacher_forced", "max_turns": None})
    records = ev.evaluate(None, tok, {t.alias: t for t in suite.tasks}, {"mqar": examples}, cfg)
    assert asked == [32]
    assert [r["score"] for r in records] == [1.0] * len(examples)
