"""Exported lm-eval tasks give exactly the harness's scores: same examples, same prompt ids, same outputs, same scores.

A tiny qwen3_next probe is trained for a few steps (so its outputs differ between examples), saved with its
probe tokenizer, and evaluated twice on the `quick` suite's test examples: by `harness.evaluate.scoring` and by
lm-eval's own `simple_evaluate` (model "hf") on the tasks `harness.evaluate.lm_eval_export` wrote. The multi-turn task
(fact_recall) is one doc per scored turn, compared turn by turn and scored per example.
"""
from __future__ import annotations

import json
import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.harness.evaluate.scoring import evaluate
from hybrid_eval.harness.run import suite_tokenizer
from hybrid_eval.harness.train.loop import train
from hybrid_eval.models.tokenizer import chat_ids
from hybrid_eval.tasks.base import TaskConfigError, example_hash
from hybrid_eval.tasks.data import Suite, load_splits
from hybrid_eval.harness.evaluate.lm_eval_export import CONF, export, main, suite_config

lm_eval = pytest.importorskip("lm_eval")
pytest.importorskip("accelerate")

SIZES = {"train": 64, "validation": 8, "test": 6}  # the harness job's sizes; only test is exported
MAX_NEW_TOKENS = 16
EVAL_BATCH = 64


def eval_config(**overrides):
    """conf/eval/default.yaml (teacher-forced multi-turn) with `overrides`."""
    return OmegaConf.merge(OmegaConf.load(CONF / "eval" / "default.yaml"), {"max_new_tokens": MAX_NEW_TOKENS, **overrides})


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on shared, busy cores two OpenMP threads made training 30x slower (spin-waiting)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, one_thread):
    torch.manual_seed(0)
    suite_cfg = suite_config("quick")
    suite = Suite.from_config(suite_cfg)
    data = {t.alias: load_splits(t, SIZES, seed=suite_cfg.seed, cache_dir=None) for t in suite.tasks}
    tokenizer = suite_tokenizer(suite, data)
    model, _ = models.build(OmegaConf.create({"family": "qwen3_next", "pattern": "F", "size": "tiny"}), tokenizer, seed=0)
    train_cfg = OmegaConf.create({"max_steps": 250, "batch_size": 16, "lr": 5e-3, "warmup_steps": 10, "weight_decay": 0.1,
                                  "grad_clip": 1.0, "log_every": 10, "precision": "fp32"})
    train(model, tokenizer, {k: v["train"] for k, v in data.items()}, train_cfg, seed=0, device="cpu")
    model.eval()
    ckpt = tmp_path_factory.mktemp("ckpt")
    model.save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)
    out = tmp_path_factory.mktemp("lm_eval_tasks")
    manifest = export(out, suite_cfg, n_test=SIZES["test"], max_new_tokens=MAX_NEW_TOKENS)
    return SimpleNamespace(suite=suite, data=data, tokenizer=tokenizer, model=model, ckpt=ckpt, out=out, manifest=manifest)


def read_docs(setup, alias):
    with (setup.out / f"{alias}.jsonl").open() as f:
        return [json.loads(line) for line in f]


def test_export_holds_exactly_the_harness_test_examples(setup):
    for task in setup.suite.tasks:
        docs = read_docs(setup, task.alias)
        gold = setup.data[task.alias]["test"]
        assert [d["id"] for d in docs] == [e["id"] for e in gold for _ in e["scored_turns"]]
        assert [example_hash(json.loads(d["example"])) for d in docs] == [example_hash(e) for e in gold for _ in e["scored_turns"]]
        assert [d["turn"] for d in docs] == [t for e in gold for t in e["scored_turns"]]
    assert setup.manifest["tasks"]["hybrid_eval_quick_fact_recall"]["multi_turn"] is True
    assert setup.manifest["tasks"]["hybrid_eval_quick_mqar"]["multi_turn"] is False


@pytest.mark.parametrize("add_bos_token", [None, False])  # None: lm-eval's default; the probe tokenizer adds no BOS
def test_lm_eval_sees_the_harness_prompt_ids(setup, add_bos_token):
    from lm_eval.models.huggingface import HFLM

    extra = {} if add_bos_token is None else {"add_bos_token": add_bos_token}
    lm = HFLM(pretrained=str(setup.ckpt), tokenizer=str(setup.ckpt), dtype="float32", device="cpu", batch_size=1, **extra)
    for task in setup.suite.tasks:
        examples = {e["id"]: e for e in setup.data[task.alias]["test"]}
        for doc in read_docs(setup, task.alias):
            ex = examples[doc["id"]]
            ids, _ = lm.tok_batch_encode([doc["prompt"]])
            assert ids[0].tolist() == chat_ids(setup.tokenizer, ex["messages"][:doc["turn"]], add_generation_prompt=True)


def test_lm_eval_scores_equal_harness_scores(setup):
    from lm_eval.tasks import TaskManager

    tasks = {t.alias: t for t in setup.suite.tasks}
    records = evaluate(setup.model, setup.tokenizer, tasks, {k: v["test"] for k, v in setup.data.items()},
                       eval_config(batch_size=EVAL_BATCH))
    harness = {(r["task"], r["id"]): r for r in records}
    # the probe must answer differently across examples, or equal scores would prove little
    assert len({o for r in records for o in r["outputs"]}) > 5
    assert len({r["score"] for r in records}) > 1
    assert len({r["score"] for r in records if r["task"] == "fact_recall"} - {0.0, 1.0}) > 0  # some turns right, some not

    results = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={setup.ckpt},tokenizer={setup.ckpt},dtype=float32,add_bos_token=False",
        tasks=["hybrid_eval_quick"], task_manager=TaskManager(include_path=str(setup.out)),
        batch_size=1, device="cpu", log_samples=True,
    )
    task_means = []
    for alias in tasks:
        name = f"hybrid_eval_quick_{alias}"
        samples = results["samples"][name]
        assert len(samples) == sum(len(e["scored_turns"]) for e in setup.data[alias]["test"])
        for s in samples:  # each doc is one scored turn: the harness's output of that turn, and its turn score
            h = harness[alias, s["doc"]["id"]]
            k = json.loads(s["doc"]["example"])["scored_turns"].index(s["doc"]["turn"])
            assert s["filtered_resps"][0].strip() == h["outputs"][k], (alias, s["doc"]["id"], k)
            assert s["turn_score"] == h["turn_scores"][k], (alias, s["doc"]["id"], k)
        ids = {s["doc"]["id"] for s in samples}
        assert len(ids) == SIZES["test"]
        mean = sum(harness[alias, i]["score"] for i in ids) / len(ids)  # per example, however many turns
        assert results["results"][name]["score,none"] == pytest.approx(mean, abs=0, rel=1e-12)
        task_means.append(mean)
    assert results["results"]["hybrid_eval_quick"]["score,none"] == pytest.approx(sum(task_means) / len(task_means), rel=1e-12)


def test_tokenizer_template_renders_the_same_prompts(setup, tmp_path):
    """tokenizer=DIR renders with that tokenizer's own template; for the saved probe it equals the default export."""
    main([str(tmp_path), "suite=quick", f"n_test={SIZES['test']}", f"tokenizer={setup.ckpt}"])
    for task in setup.suite.tasks:
        assert (tmp_path / f"{task.alias}.jsonl").read_text() == (setup.out / f"{task.alias}.jsonl").read_text()


def test_cli_errors_are_one_line(tmp_path):
    with pytest.raises(TaskConfigError, match="accepted: long_context"):
        main([str(tmp_path), "suite=nope"])
    with pytest.raises(TaskConfigError, match="unknown argument 'n'"):
        main([str(tmp_path), "suite=quick", "n=3"])
    with pytest.raises(TaskConfigError, match="suite= is required"):
        main([str(tmp_path)])
