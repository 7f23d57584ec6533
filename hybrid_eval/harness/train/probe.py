"""Training a probe, the one way into training (docs/design.md §7): once at `train.lr` (loop.py), or once per rate
of `train.lr_grid` keeping the best run on the validation split (lr_grid.py, the MAD protocol).

Either way the trained probe ends in `<job>/checkpoint/` with its training summary `train.json` written last (for a
grid it holds the whole grid) and `integrity.json` (the fingerprint of the settings that decide the weights, the
weights' sizes and SHA-256). A rerun into the same job reuses that checkpoint and trains nothing, but only when its
weights are intact and it was trained with the same settings: a damaged checkpoint (cut, bit-flipped, a pickle in
place of safetensors) is retrained with a warning; one trained with other settings stops the run with one line
naming what differs (README "Resuming and integrity").
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hybrid_eval import kernels
from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train import loop
from hybrid_eval.harness.train.lr_grid import add_validation, check_lr_grid, during_training, train_grid, workdir
from hybrid_eval.harness.train.protocol import record_convergence

logger = logging.getLogger(__name__)


def weights_fingerprint(cfg, seed: int, extra: dict | None = None) -> dict:
    """What decides a probe's weights: the whole train config, the seed and `extra` (the job adds the model config,
    the suite's data and the tokenizer's vocabulary; harness/fingerprint.py)."""
    from omegaconf import OmegaConf

    train = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    return {"train": train, "seed": int(seed), **(extra or {})}


def train_probe(model, tokenizer, train_examples: dict[str, list[dict]], cfg, *, seed: int, device, ckpt,
                validate=None, log=None, progress=None, name: str = "probe", fingerprint: dict | None = None):
    """Train `model` (once, or once per rate of `cfg.lr_grid`) and keep the chosen run in `ckpt`; reuse
    `ckpt` when it already holds a trained probe.

    `validate(model) -> {alias: {score, chance, n, ...}}` scores a trained model on the validation split
    (required with a grid); `log(metrics, step)` is the tracker's; `progress(total, desc)` makes a bar.
    Returns (model, training summary with convergence and validation accuracy, validation or None).
    """
    grid = check_lr_grid(cfg)
    ckpt = Path(ckpt)
    fingerprint = weights_fingerprint(cfg, seed, fingerprint)
    if store.is_checkpoint(ckpt):
        summary = store.read_json(ckpt / "train.json")
        _check_reuse(ckpt, summary, grid)
        problem = store.checkpoint_problem(ckpt, fingerprint)
        if problem is not None and problem[0] == "settings":
            raise ConfigError(f"{problem[1]}; accepted: the same settings, or another output directory "
                              "(hydra.run.dir / hydra.sweep.dir)")
        if problem is not None:
            logger.warning("%s; retraining it", problem[1])
            shutil.rmtree(ckpt)
    if store.is_checkpoint(ckpt):
        logger.info("reusing trained checkpoint %s (weights verified)", ckpt)
        shutil.rmtree(workdir(ckpt), ignore_errors=True)  # left behind if a grid was stopped right after choosing
        model = store.load_checkpoint(ckpt)
        model.to(device).eval()
        summary["resumed"] = True  # trained by an earlier attempt (its kernel calls are in summary["kernel_calls"])
        validation = validate(model) if validate else None
    elif grid is None:
        bar = progress(cfg.max_steps, f"train {name}") if progress else None
        before = dict(kernels.calls)
        summary = loop.train(model, tokenizer, train_examples, cfg, seed=seed, device=device, log=log, progress=bar,
                             validate=during_training(validate, cfg), name=name)
        summary["kernel_calls"] = kernels.calls_since(before)  # kept with the checkpoint: a resumed job reports them
        if bar is not None:
            bar.close()
        record_convergence(summary)
        store.save_checkpoint(model, tokenizer, ckpt, summary, fingerprint)
        validation = validate(model) if validate else None
    else:
        if validate is None:
            raise ValueError("train_probe: a learning-rate grid needs `validate`")
        model, summary, validation = train_grid(model, tokenizer, train_examples, cfg, grid, seed=seed, device=device,
                                                ckpt=ckpt, validate=validate, log=log, progress=progress, name=name,
                                                fingerprint=fingerprint)
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
