"""lm-eval and the harness give the same score for every example of every task of `minimax_gap`, multi-turn included,
on an attention (`F`) and an all-linear (`L`) qwen3_next probe, through lm-eval's own `hf` model on a saved checkpoint.

The probes are untrained (seed 0): their greedy answers differ between examples and turns, so equal outputs turn by
turn are evidence; their scores are mostly 0, so the per-example aggregation is also checked on answers that are
right on some turns and wrong on others (`test_a_multi_turn_example_scores_like_the_harness`). A multi-turn example
is one lm-eval doc per scored turn with the gold history (harness/evaluate/lm_eval_export.py), the harness's
teacher-forced mode. The `L` checkpoint needs `trust_remote_code=True` (models/hf_export.py says why).
"""
from __future__ import annotations

import json
import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.harness import store
from hybrid_eval.harness.evaluate import lm_eval_bridge
from hybrid_eval.harness.evaluate.lm_eval_export import CONF, export, suite_config
from hybrid_eval.harness.evaluate.lm_eval_run import _example_records
from hybrid_eval.harness.evaluate.scoring import evaluate
from hybrid_eval.harness.run import suite_tokenizer
from hybrid_eval.tasks.data import Suite, load_splits

lm_eval = pytest.importorskip("lm_eval")

N_TEST = 2          # examples per task
MAX_NEW_TOKENS = 4  # per scored turn at least (a longer gold answer gets its length, as in the harness)


@pytest.fixture(scope="module")
def suite_setup(tmp_path_factory):
    cfg = suite_config("minimax_gap")
    suite = Suite.from_config(cfg)
    data = {t.alias: load_splits(t, {"test": N_TEST}, seed=cfg.seed, cache_dir=None) for t in suite.tasks}
    out = tmp_path_factory.mktemp("lm_eval_tasks")
    manifest = export(out, cfg, n_test=N_TEST, max_new_tokens=MAX_NEW_TOKENS)
    return suite, data, out, manifest


@pytest.fixture(scope="module", params=["F", "L"])
def compared(request, suite_setup, tmp_path_factory):
    """(harness records, lm-eval results) for one untrained probe of `request.param`."""
    suite, data, out, _ = suite_setup
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tokenizer = suite_tokenizer(suite, data)
        model, _ = models.build(OmegaConf.create({"family": "qwen3_next", "pattern": request.param, "size": "tiny"}),
                                tokenizer, seed=0)
        model.eval()
        ckpt = tmp_path_factory.mktemp(f"ckpt_{request.param}")
        store.save_checkpoint(model, tokenizer, ckpt, None)
        eval_cfg = OmegaConf.merge(OmegaConf.load(CONF / "eval" / "default.yaml"), {"max_new_tokens": MAX_NEW_TOKENS})
        records = evaluate(model, tokenizer, {t.alias: t for t in suite.tasks}, {k: v["test"] for k, v in data.items()},
                           eval_cfg)
        from lm_eval.tasks import TaskManager

        remote = ",trust_remote_code=True" if request.param == "L" else ""
        results = lm_eval.simple_evaluate(
            model="hf", model_args=f"pretrained={ckpt},tokenizer={ckpt},dtype=float32,add_bos_token=False{remote}",
            tasks=["hybrid_eval_minimax_gap"], task_manager=TaskManager(include_path=str(out), include_defaults=False),
            batch_size=1, device="cpu", log_samples=True, bootstrap_iters=0)
    finally:
        torch.set_num_threads(threads)
    return request.param, records, results


def test_every_minimax_gap_task_scores_the_same_per_example(compared, suite_setup):
    pattern, records, results = compared
    suite, data, _, manifest = suite_setup
    assert len(suite.tasks) == 14
    harness = {(r["task"], r["id"]): r for r in records}
    multi = [t.alias for t in suite.tasks if any(len(e["scored_turns"]) > 1 for e in data[t.alias]["test"])]
    assert "tool_episode" in multi  # several scored turns per example: several docs each
    outputs = set()
    for task in suite.tasks:
        name = f"hybrid_eval_minimax_gap_{task.alias}"
        samples = results["samples"][name]
        assert len(samples) == manifest["tasks"][name]["docs"] == sum(len(e["scored_turns"]) for e in data[task.alias]["test"])
        lm = _example_records(f"lm_eval/{name}", samples)
        assert [r["id"] for r in lm] == [e["id"] for e in data[task.alias]["test"]]
        for r in lm:
            h = harness[task.alias, r["id"]]
            assert (r["prompt_hash"], r["outputs"], r["turn_scores"]) == (h["prompt_hash"], h["outputs"], h["turn_scores"]), \
                (pattern, task.alias, r["id"])
            assert r["score"] == h["score"], (pattern, task.alias, r["id"])
            outputs.update(r["outputs"])
        mean = sum(harness[task.alias, r["id"]]["score"] for r in lm) / len(lm)
        assert results["results"][name]["score,none"] == pytest.approx(mean, rel=1e-12, abs=0)
    assert len(outputs) > 20  # the probe answers differently across examples and turns


def test_a_multi_turn_example_scores_like_the_harness(suite_setup, tmp_path):
    """lm-eval's aggregation of `score` on hand-made answers, gold on every other scored turn and wrong elsewhere,
    items in any order: it must equal the mean over examples of the harness's `task.score` (tool_episode of
    minimax_gap, 8 scored turns; fact_recall of quick, whose examples differ in their number of scored turns)."""
    suite, data, out, _ = suite_setup
    quick_cfg = suite_config("quick")
    export(tmp_path, quick_cfg, n_test=6, max_new_tokens=MAX_NEW_TOKENS)
    quick = Suite.from_config(quick_cfg)
    cases = [(suite.task("tool_episode"), data["tool_episode"]["test"], out),
             (quick.task("fact_recall"), load_splits(quick.task("fact_recall"), {"test": 6}, seed=quick_cfg.seed,
                                                     cache_dir=None)["test"], tmp_path)]
    for task, examples, folder in cases:
        docs = [json.loads(line) for line in (folder / f"{task.alias}.jsonl").read_text().splitlines()]
        items, expected = [], []
        for ex in examples:
            answers = [ex["messages"][t]["content"] if i % 2 == 0 else "wrong" for i, t in enumerate(ex["scored_turns"])]
            expected.append(task.score(ex, answers))
            for d in (d for d in docs if d["id"] == ex["id"]):
                items.append(lm_eval_bridge.process_results(d, [" " + answers[ex["scored_turns"].index(d["turn"])]])["score"])
        assert len(items) == sum(len(e["scored_turns"]) for e in examples) > len(examples), task.alias
        assert 0 < sum(expected) / len(expected) < 1, task.alias
        assert lm_eval_bridge.aggregate(items[::-1]) == pytest.approx(sum(expected) / len(expected), rel=1e-12), task.alias
