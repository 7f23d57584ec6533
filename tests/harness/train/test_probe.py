"""The training entry point (hybrid_eval/harness/train/probe.py) without a grid: one run at train.lr saved as the
job's checkpoint, reused by a rerun without training, and refused for a grid it was not chosen from. The tiny
qwen3_next `F` probe and the easy one_fact_qa of test_lr_grid.py (40 steps at 3e-3: final loss below 1.0)."""
import json

import pytest
import torch
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train.probe import train_probe
from tests.harness.train.test_lr_grid import (GOOD, _one_thread, batch_loss, count_training,  # noqa: F401,F811
                                              fake_validation, probe_inputs)  # _one_thread, probe_inputs: fixtures


def test_one_run_at_train_lr_is_saved_then_reused_without_training(tmp_path, probe_inputs, monkeypatch):
    cfg, tokenizer, examples = probe_inputs
    train_cfg = OmegaConf.merge(cfg.train, {"lr": GOOD, "lr_grid": None})
    ckpt = tmp_path / "checkpoint"
    trained = count_training(monkeypatch)
    model, summary, validation = train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples,
                                             train_cfg, seed=0, device="cpu", ckpt=ckpt,
                                             validate=fake_validation([0.9]))
    assert trained == [GOOD] and summary["lr"] == GOOD and "lr_grid" not in summary
    assert summary["steps"] == 40 and summary["final_loss"] < 1.0 and summary["convergence"]["points"] == 3
    assert validation["one_fact_qa"]["score"] == 0.9 and summary["val_accuracy"] == 0.9
    assert summary["val_curve"] == [[40, 0.9]]
    saved = json.loads((ckpt / "train.json").read_text())  # written before validation: no validation keys
    assert saved["loss_curve"] == summary["loss_curve"] and "val_accuracy" not in saved
    assert not (tmp_path / "checkpoint.lr_grid").exists()
    loss = batch_loss(model, tokenizer, examples)

    # a rerun loads the checkpoint: no training, the same weights and training summary, validation scored again
    again, summary2, _ = train_probe(models.build(cfg.model, tokenizer, seed=1)[0], tokenizer, examples, train_cfg,
                                     seed=0, device="cpu", ckpt=ckpt, validate=fake_validation([0.8]))
    assert trained == [GOOD]
    assert batch_loss(again, tokenizer, examples) == pytest.approx(loss, abs=1e-6)
    assert summary2["loss_curve"] == summary["loss_curve"] and summary2["final_loss"] == summary["final_loss"]
    assert summary2["val_accuracy"] == 0.8 and summary2["val_curve"] == [[40, 0.8]]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_a_checkpoint_trained_without_a_grid_is_not_reused_for_one(tmp_path, probe_inputs):
    cfg, tokenizer, examples = probe_inputs
    ckpt = tmp_path / "checkpoint"
    train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples,
                OmegaConf.merge(cfg.train, {"lr": GOOD, "lr_grid": None}), seed=0, device="cpu", ckpt=ckpt)
    with pytest.raises(ConfigError, match=r"was trained with train.lr=0.003 \(no grid\) but this run sets "
                                          r"train.lr_grid=\[0.003\]; accepted: the same grid"):
        train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples,
                    OmegaConf.merge(cfg.train, {"lr_grid": [GOOD]}), seed=0, device="cpu", ckpt=ckpt,
                    validate=fake_validation([0.9]))
