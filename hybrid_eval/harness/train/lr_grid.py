"""Learning-rate grid (docs/design.md §7, the MAD protocol): a probe variant is trained once per rate of
`train.lr_grid`, every run from the same initial weights with the same seed and data order; each run is
scored on the validation split, and the best run is the variant's result, the only one evaluated on test:

    chosen = among the runs that trained (not did_not_train; all runs if none did), the highest validation
             accuracy (mean over the suite's tasks); ties: lower final training loss, then lower lr

`train.lr_grid: null` (the default) trains once at `train.lr`; probe.py's `train_probe` decides which, and reuses a
finished checkpoint.

Files, for resuming: the chosen run becomes `<job>/checkpoint/`, whose `train.json` (written last) holds the
whole grid. While the grid runs, `<job>/checkpoint.lr_grid/` holds `runs.json` (every finished run's record) and
the best run so far (`lr=<rate>/`); a rerun after an interruption trains only the rates without a record. Only the
chosen run's weights are kept.
"""
from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import torch
from omegaconf import OmegaConf

from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train import loop
from hybrid_eval.harness.train.protocol import did_not_train, record_convergence

logger = logging.getLogger(__name__)
SELECTION = ("runs that trained first (not did_not_train); highest validation accuracy (mean over tasks); "
             "ties: lower final training loss, then lower lr")
ACCEPTED = "accepted: null (train once at train.lr) or a list of distinct positive rates, e.g. train.lr_grid='[3e-4,1e-3,3e-3]'"
# a resumed grid's finished runs count only if these (and the seed) are unchanged
TRAIN_KEYS = ("max_steps", "max_seconds", "val_every", "batch_size", "warmup_steps", "weight_decay", "grad_clip",
              "log_every", "n_examples", "precision", "micro_batch_tokens")


def check_lr_grid(train_cfg) -> list[float] | None:
    """The grid's rates as floats, or None for no grid; a bad grid is a ConfigError (one line, exit 2)."""
    grid = train_cfg.get("lr_grid")
    if grid is None:
        return None
    if OmegaConf.is_config(grid):
        grid = OmegaConf.to_container(grid, resolve=True)
    if not isinstance(grid, (list, tuple)):
        raise ConfigError(f"train.lr_grid={grid!r} is not a list; {ACCEPTED}")
    if not grid:
        raise ConfigError(f"train.lr_grid=[] is empty; {ACCEPTED}")
    bad = [x for x in grid if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0]
    if bad:
        raise ConfigError(f"train.lr_grid={list(grid)} has {', '.join(repr(x) for x in bad)}, not a positive number; {ACCEPTED}")
    rates = [float(x) for x in grid]
    if len(set(rates)) < len(rates):
        raise ConfigError(f"train.lr_grid={list(grid)} repeats a rate; {ACCEPTED}")
    if int(train_cfg.get("n_validation") or 0) <= 0:
        raise ConfigError(f"train.lr_grid needs a validation split to choose a rate, but train.n_validation="
                          f"{train_cfg.get('n_validation')}; accepted: train.n_validation >= 1")
    return rates


def select(runs: list[dict]) -> int:
    """Index of the chosen run: a run that trained before one that did not (`did_not_train`, e.g. diverged);
    then highest `val_accuracy`; ties: lower `final_loss` (a missing or NaN loss counts as infinite), then lower `lr`."""
    def key(i):
        r = runs[i]
        val = r.get("val_accuracy")
        loss = r.get("final_loss")
        return (bool(r.get("did_not_train")), -(val if val is not None else -math.inf),
                loss if loss is not None and math.isfinite(loss) else math.inf, r["lr"])

    if not runs:
        raise ValueError("select needs at least one run")
    return min(range(len(runs)), key=key)


def val_accuracy(validation: dict[str, dict]) -> float:
    """Mean validation accuracy over the suite's tasks (each task weighs the same)."""
    return sum(v["score"] for v in validation.values()) / len(validation)


def add_validation(summary: dict, validation: dict[str, dict] | None) -> dict:
    """Validation accuracy of the trained probe into its summary: overall, per task, and as the last point
    [[steps, accuracy]] of the validation curve (after the points taken during training with train.val_every); and
    the validation loss, overall and per task, when the validation summary has it."""
    if validation:
        summary["val_accuracy"] = val_accuracy(validation)
        summary["val_accuracy_tasks"] = {t: v["score"] for t, v in validation.items()}
        losses = {t: v["loss"] for t, v in validation.items() if v.get("loss") is not None}
        if losses:  # the held-out loss (harness.train.loop.held_out_loss), mean over tasks as the accuracy
            summary["val_loss"] = sum(losses.values()) / len(losses)
            summary["val_loss_tasks"] = losses
        steps = summary.get("steps")
        during = [p for p in summary.get("val_curve") or [] if p[0] != steps]  # a reused checkpoint has the end point
        summary["val_curve"] = during + [[steps, summary["val_accuracy"]]]
    return summary


def during_training(validate, cfg):
    """The accuracy-only validation `loop.train` scores every train.val_every steps (None without either)."""
    return (lambda model: val_accuracy(validate(model))) if validate is not None and cfg.get("val_every") else None


# ---------------------------------------------------------------- the grid

def train_grid(model, tokenizer, train_examples, cfg, grid, *, seed, device, ckpt, validate, log, progress, name,
               fingerprint: dict | None = None):
    """One run per rate of `grid` (resuming an interrupted grid), the chosen run moved to `ckpt` and loaded into the
    returned model. Returns (model, the chosen run's summary with the grid's table, the chosen run's validation)."""
    work = workdir(ckpt)
    # a finished run is resumed only for the same train keys, seed, model and data (the job's other fingerprint keys)
    settings = ({k: _plain(cfg.get(k)) for k in TRAIN_KEYS} | {"seed": int(seed)}
                | {k: v for k, v in (fingerprint or {}).items() if k not in ("train", "seed")})
    done = _resume(work, settings, grid)  # {lr: record} of runs finished before an interruption
    init = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    best_state = None  # the best run's weights when it was trained in this process
    for i, lr in enumerate(grid):
        tag = f"{name} lr={lr:g} ({i + 1}/{len(grid)})"
        if lr in done:
            logger.info("%s: finished before, reused: %s", tag, _line(done[lr]))
            continue
        model.load_state_dict(init)  # every run starts from the same weights, seed and data order
        torch.manual_seed(seed)
        bar = progress(cfg.max_steps, f"train {tag}") if progress else None
        summary = loop.train(model, tokenizer, train_examples, OmegaConf.merge(cfg, {"lr": lr}), seed=seed,
                             device=device, log=_offset_log(log, i, int(cfg.max_steps), lr), progress=bar,
                             validate=during_training(validate, cfg), name=tag)
        if bar is not None:
            bar.close()
        validation = validate(model)
        flag, reason = did_not_train(summary["initial_loss"], summary["final_loss"], validation,
                                     summary.get("diverged_at_step"), len(summary.get("loss_curve") or []))
        record = add_validation(record_convergence(summary), validation) | {
            "did_not_train": flag, "did_not_train_reason": reason, "validation": validation}
        previous = _best(done, grid)
        done[lr] = record
        new_best = _best(done, grid) == lr
        if new_best:  # its weights replace the previous best's on disk (saved before runs.json names it)
            store.save_checkpoint(model, tokenizer, work / _dirname(lr), None)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        store.write_json(work / "runs.json", {"fingerprint": settings, "runs": list(done.values())})
        if new_best and previous is not None:
            shutil.rmtree(work / _dirname(previous), ignore_errors=True)
        logger.info("%s: %s", tag, _line(record))
    runs = [done[lr] for lr in grid]
    chosen = runs[select(runs)]
    logger.info("%s: chose lr=%g (%s)", name, chosen["lr"], SELECTION)
    table = [{k: v for k, v in r.items() if k != "validation"} | {"chosen": r is chosen} for r in runs]
    summary = {k: v for k, v in chosen.items() if k not in ("validation", "did_not_train", "did_not_train_reason")}
    summary |= {"seconds": round(sum(r["seconds"] for r in runs), 2), "seconds_chosen": chosen["seconds"],
                "lr_grid": table, "lr_selection": SELECTION}
    best_dir = work / _dirname(chosen["lr"])
    store.seal_checkpoint(best_dir, summary, fingerprint)  # integrity.json, then train.json last: complete
    if ckpt.exists():  # a half-written checkpoint of an earlier attempt
        shutil.rmtree(ckpt)
    best_dir.rename(ckpt)
    shutil.rmtree(work, ignore_errors=True)
    if best_state is not None:
        model.load_state_dict(best_state)
    else:  # chosen in an earlier, interrupted attempt
        model = store.load_checkpoint(ckpt)
    model.to(device).eval()
    return model, summary, chosen["validation"]


def _best(done: dict[float, dict], grid: list[float]) -> float | None:
    runs = [done[lr] for lr in grid if lr in done]
    return runs[select(runs)]["lr"] if runs else None


def _resume(work: Path, fingerprint: dict, grid: list[float]) -> dict[float, dict]:
    """Records of runs an interrupted attempt finished with the same settings; the best of them must still
    have its weights on disk (else nothing is reused)."""
    try:
        saved = store.read_json(work / "runs.json")
    except (OSError, ValueError):
        saved = None
    if not saved or saved.get("fingerprint") != fingerprint:
        if work.exists():
            logger.info("%s: settings changed or nothing finished; starting the grid over", work)
            shutil.rmtree(work)
        return {}
    done = {float(r["lr"]): r for r in saved["runs"] if float(r["lr"]) in grid}
    best = _best(done, grid)
    problem = store.checkpoint_problem(work / _dirname(best)) if best is not None else None
    if problem is not None:  # the best run's weights are gone or damaged: nothing is reused
        logger.warning("%s; starting the grid over", problem[1])
        shutil.rmtree(work)
        return {}
    logger.info("%s: resuming the grid; finished before: %s", work, ", ".join(f"{lr:g}" for lr in done) or "none")
    return done


def _offset_log(log, index: int, max_steps: int, lr: float):
    """The tracker's log for run `index` of the grid: W&B steps must only grow, so run i logs at
    i * max_steps + step, with its rate as `train/grid_lr`."""
    if log is None:
        return None
    return lambda metrics, step=None: log({**metrics, "train/grid_lr": lr},
                                          step=None if step is None else index * max_steps + step)


def workdir(ckpt: Path) -> Path:
    """Where a grid keeps its finished runs until it has chosen: `<ckpt>.lr_grid`."""
    return ckpt.with_name(ckpt.name + ".lr_grid")


def _dirname(lr: float) -> str:
    return f"lr={lr!r}"


def _plain(v):
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


def _line(r: dict) -> str:
    loss = (f"loss {r['initial_loss']:.3f} -> {r['final_loss']:.3f}" if r.get("final_loss") is not None else "no loss")
    if r.get("val_loss") is not None:
        loss += f", validation loss {r['val_loss']:.3f}"
    if r.get("epochs") is not None:
        loss += f", {r['epochs']:.1f} epochs"
    return (f"validation {100 * r['val_accuracy']:.1f}%, {loss}, "
            f"{'did not train' if r['did_not_train'] else 'trained'}, "
            f"{'still improving' if r.get('still_improving') else 'not improving' if r.get('still_improving') is False else 'improvement unknown'}")
