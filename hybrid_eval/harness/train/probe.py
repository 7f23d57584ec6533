"""Training a probe, the one way into training (docs/design.md §7): once at `train.lr` (loop.py), or once per rate
of `train.lr_grid` keeping the best run on the validation split (lr_grid.py, the MAD protocol).

Either way the trained probe ends in `<job>/checkpoint/` with its training summary `train.json` written last (for a
grid it holds the whole grid), and a rerun into the same job reuses that checkpoint and trains nothing, but only for
the grid it was chosen from (or for no grid when it was trained without one).
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train import loop
from hybrid_eval.harness.train.lr_grid import add_validation, check_lr_grid, during_training, train_grid, workdir
from hybrid_eval.harness.train.protocol import record_convergence

logger = logging.getLogger(__name__)


def train_probe(model, tokenizer, train_examples: dict[str, list[dict]], cfg, *, seed: int, device, ckpt,
                validate=None, log=None, progress=None, name: str = "probe"):
    """Train `model` (once, or once per rate of `cfg.lr_grid`) and keep the chosen run in `ckpt`; reuse
    `ckpt` when it already holds a trained probe.

    `validate(model) -> {alias: {score, chance, n, ...}}` scores a trained model on the validation split
    (required with a grid); `log(metrics, step)` is the tracker's; `progress(total, desc)` makes a bar.
    Returns (model, training summary with convergence and validation accuracy, validation or None).
    """
    grid = check_lr_grid(cfg)
    ckpt = Path(ckpt)
    if store.is_checkpoint(ckpt):
        summary = store.read_json(ckpt / "train.json")
        _check_reuse(ckpt, summary, grid)
        logger.info("reusing trained checkpoint %s", ckpt)
        shutil.rmtree(workdir(ckpt), ignore_errors=True)  # left behind if a grid was stopped right after choosing
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(ckpt)
        model.to(device).eval()
        validation = validate(model) if validate else None
    elif grid is None:
        bar = progress(cfg.max_steps, f"train {name}") if progress else None
        summary = loop.train(model, tokenizer, train_examples, cfg, seed=seed, device=device, log=log, progress=bar,
                             validate=during_training(validate, cfg), name=name)
        if bar is not None:
            bar.close()
        record_convergence(summary)
        store.save_checkpoint(model, tokenizer, ckpt, summary)
        validation = validate(model) if validate else None
    else:
        if validate is None:
            raise ValueError("train_probe: a learning-rate grid needs `validate`")
        model, summary, validation = train_grid(model, tokenizer, train_examples, cfg, grid, seed=seed, device=device,
                                                ckpt=ckpt, validate=validate, log=log, progress=progress, name=name)
    if "convergence" not in summary:  # a checkpoint saved before convergence was recorded
        record_convergence(summary)
    return model, add_validation(summary, validation), validation


def _check_reuse(ckpt: Path, summary: dict, grid: list[float] | None) -> None:
    """A saved checkpoint is reused only for the grid it was chosen from (or for no grid, as before)."""
    saved = [float(r["lr"]) for r in summary.get("lr_grid") or []] or None
    if (saved is None) != (grid is None) or (saved is not None and sorted(saved) != sorted(grid)):
        was = f"train.lr_grid={saved}" if saved else f"train.lr={summary.get('lr')} (no grid)"
        raise ConfigError(f"{ckpt} was trained with {was} but this run sets train.lr_grid={grid}; "
                          "accepted: the same grid, or another output directory")
