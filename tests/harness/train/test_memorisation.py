"""Held-out loss and epochs: what tells a probe that memorised its training set from one that learned the task
(reports/probe-training.md §11: qwen3_next L's training loss fell from 3.02 to 1.20 over 5 epochs of mqar_base
while its validation accuracy stayed at chance)."""
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from hybrid_eval.harness import run
from hybrid_eval.harness.train import loop as train_module
from hybrid_eval import models
from hybrid_eval.harness.train.loop import encode_examples, make_batch, train
from hybrid_eval.tasks.data import Suite, load_splits
from tests.harness.train.test_lr_grid import _one_thread, job_config  # noqa: F401 (an autouse fixture)


def reference_loss(model, tokenizer, examples) -> float:
    """transformers' own loss (labels=...) on one example at a time, weighted by its scored tokens."""
    total = count = 0.0
    for enc in encode_examples(tokenizer, {"t": examples})["t"]:
        ids, mask, labels = make_batch([enc], tokenizer.pad_token_id, "cpu")
        n = int((labels[:, 1:] != -100).sum())
        with torch.no_grad():
            total += float(model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss) * n
        count += n
    return total / count


def validation_split(cfg):
    (task,) = Suite.from_config(cfg.suite).tasks
    sizes = {"train": cfg.train.n_examples, "validation": cfg.train.n_validation, "test": cfg.eval.n_test}
    return task.alias, load_splits(task, sizes, seed=cfg.suite.seed, cache_dir=None)["validation"]


def test_validation_loss_and_epochs_are_recorded_for_every_run(tmp_path):
    cfg = job_config("train.lr_grid=[3e-3]")
    tr = run.run_job(cfg, tmp_path)["train"]
    alias, val = validation_split(cfg)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "checkpoint", use_safetensors=True)
    ref = reference_loss(model, AutoTokenizer.from_pretrained(tmp_path / "checkpoint"), val)
    assert tr["val_loss"] == pytest.approx(ref, abs=1e-4) and tr["val_loss_tasks"] == {alias: tr["val_loss"]}
    assert tr["lr_grid"][0]["val_loss"] == tr["val_loss"]
    assert tr["epochs"] == 40 * 16 / 200  # steps x batch / training examples, one task


def test_a_probe_that_memorises_has_a_training_loss_far_below_its_validation_loss(tmp_path):
    """Eight training examples of recall with 64 possible values, seen 200 times each: the tiny probe learns them
    by heart (training loss near 0) and not the task (validation loss stays high)."""
    cfg = job_config("suite.tasks=[{name: mqar, knobs: {n_pairs: 4, n_keys: 16, n_values: 64}}]", "train.n_examples=8",
                     "train.max_steps=100", "train.batch_size=16", "train.warmup_steps=10", "train.lr=3e-3")
    tr = run.run_job(cfg, tmp_path)["train"]
    assert tr["epochs"] == 200
    assert tr["final_loss"] < 0.3 and tr["val_loss"] > 5 * tr["final_loss"] and tr["val_loss"] > 1.5, tr


def test_batches_are_tokenized_as_drawn_in_the_seeded_order(monkeypatch):
    """Training on fresh examples (train.n_examples = steps x batch) must not tokenize the whole training set up
    front: each step tokenizes its own batch, and the batches follow the seeded draw (a task, then one of its
    examples, uniformly), the same for every variant."""
    cfg = job_config("suite.tasks=[{name: one_fact_qa}, {name: short_copy}, {name: arith_step}]",
                     "train.batch_size=4", "train.max_steps=6", "train.n_examples=30")
    suite = Suite.from_config(cfg.suite)
    data = {t.alias: load_splits(t, {"train": 30}, seed=cfg.suite.seed, cache_dir=None)["train"] for t in suite.tasks}
    tokenizer = run.suite_tokenizer(suite, {k: {"train": v} for k, v in data.items()})
    seen, real = [], train_module.encode_chats

    def spy(tok, transcripts):  # every call's transcripts, then the real tokenization
        seen.append(transcripts)
        return real(tok, transcripts)

    monkeypatch.setattr(train_module, "encode_chats", spy)
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    summary = train(model, tokenizer, data, cfg.train, seed=7, device="cpu")
    rng, names, expected = random.Random(7), sorted(data), []
    for _ in range(6):
        picks = [data[names[rng.randrange(len(names))]] for _ in range(4)]
        expected.append([p[rng.randrange(len(p))]["messages"] for p in picks])
    assert len(names) == 3 and seen == expected
    assert summary["epochs"] == pytest.approx(6 * 4 / 3 / 30, abs=1e-3)  # rounded to 3 places
