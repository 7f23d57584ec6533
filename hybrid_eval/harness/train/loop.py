"""Probe trainer: next-token loss on assistant turns of a task mixture, AdamW with warmup + cosine decay.

Every variant of a comparison gets the same data order (seeded), batch, steps and schedule; only the model
differs. Batches mix tasks uniformly; each sequence is a whole transcript, right-padded, with loss only on
assistant content and its end token (Zoology/MAD-style probes on chat transcripts).
"""
from __future__ import annotations

import logging
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train.loss import scored_token_loss_sum
from hybrid_eval.models.tokenizer import encode_chats

logger = logging.getLogger(__name__)


def encode_examples(tokenizer, examples: dict[str, list[dict]]) -> dict[str, list[tuple[list[int], list[bool]]]]:
    return {name: encode_chats(tokenizer, [ex["messages"] for ex in exs]) for name, exs in examples.items()}


def make_batch(encoded: list[tuple[list[int], list[bool]]], pad_id: int, device):
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), -100, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (seq, train_mask) in enumerate(encoded):
        t = torch.tensor(seq)
        ids[row, : len(seq)] = t
        mask[row, : len(seq)] = 1
        keep = torch.tensor(train_mask)
        labels[row, : len(seq)] = torch.where(keep, t, torch.full_like(t, -100))
    return ids.to(device), mask.to(device), labels.to(device)


@torch.no_grad()
def held_out_loss(model, tokenizer, examples: dict[str, list[dict]], device, batch_size: int = 32) -> dict[str, float]:
    """Per task, the next-token loss of `model` on `examples` (e.g. the validation split) over the tokens training
    scores (assistant content and its end token), averaged over those tokens, in the model's own precision. Next to
    the training loss it separates recall learned in context from the training set memorised: a probe that meets
    its training examples again can lower its training loss on them and not on held-out ones."""
    was_training = model.training
    model.eval()
    out = {}
    for name, encoded in encode_examples(tokenizer, examples).items():
        total, count = 0.0, 0
        for i in range(0, len(encoded), batch_size):
            ids, mask, labels = make_batch(encoded[i:i + batch_size], tokenizer.pad_token_id, device)
            batch_sum, batch_count = scored_token_loss_sum(model, ids, mask, labels)  # scored positions, float32
            total += float(batch_sum)
            count += batch_count
        out[name] = total / max(count, 1)
    model.train(was_training)
    return out


def lr_at(step: int, max_steps: int, lr: float, warmup: int, min_ratio: float = 0.1) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, max_steps - warmup)
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # no decay on norms, biases and the linear layers' decay parameters (A_log, dt_bias)
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def check_train_config(train_cfg) -> tuple[float | None, int | None]:
    """(train.max_seconds, train.val_every) as given (None: no limit / validation at the end only); anything but
    null or a positive number (an integer for val_every) is a ConfigError with one line."""
    limit, every = train_cfg.get("max_seconds"), train_cfg.get("val_every")
    steps, warmup, log_every = (train_cfg.get(k) for k in ("max_steps", "warmup_steps", "log_every"))
    if all(isinstance(x, int) and x > 0 for x in (steps, warmup)) and warmup >= steps:
        logger.warning("train.warmup_steps=%d >= train.max_steps=%d: the learning rate never reaches train.lr (the "
                       "warmup is cut off by the end of the run)", warmup, steps)
    if all(isinstance(x, int) and x > 0 for x in (steps, log_every)) and steps <= log_every:
        logger.warning("train.max_steps=%d <= train.log_every=%d gives one logged loss point: no loss curve, and the "
                       "did-not-train check rests on validation alone (set train.log_every <= %d)",
                       steps, log_every, max(1, steps // 2))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0):
        raise ConfigError(f"train.max_seconds={limit!r}; accepted: null (no limit) or a number of seconds > 0")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ConfigError(f"train.val_every={every!r}; accepted: null (validate once, after training) or an integer "
                          ">= 1 (steps between validation points)")
    return limit, every


def _log_point(curve, window, step, first_loss, opt, tokens, clock, since, log, echo: str | None = None):
    """Appends [step, mean loss of `window`] to `curve` (and to the tracker, with the rate since the last point);
    with `echo` (a run's name, when no progress bar shows: a batch job's log file, CI) also one log line. `clock` is
    the training time so far (validation left out); `since` holds the previous point's (step, clock, tokens) and is
    moved to this one, so the rates are the current speed, not an average since the start (which lags behind a
    machine whose load changes). Returns the run's first logged loss."""
    mean = sum(window) / len(window)
    curve.append([step, mean])
    span = max(clock - since["clock"], 1e-9)
    steps_per_s, tokens_per_s = (step - since["step"]) / span, (tokens - since["tokens"]) / span
    since.update(step=step, clock=clock, tokens=tokens)
    if log is not None:
        log({"train/loss": mean, "train/lr": opt.param_groups[0]["lr"], "train/tokens_per_s": tokens_per_s}, step=step)
    if echo is not None:
        logger.info("%s step %d: loss %.4f, lr %.3g, %.1f steps/s, %.0f tokens/s, %.0f s", echo, step, mean,
                    opt.param_groups[0]["lr"], steps_per_s, tokens_per_s, clock)
    return mean if first_loss is None else first_loss


def check_micro_batch_tokens(value) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"train.micro_batch_tokens={value!r}; accepted: null (the whole batch at once) or an integer "
                          ">= 1 (padded tokens per forward pass)")
    return value


def micro_batches(encoded: list[tuple[list[int], list[bool]]], max_tokens: int | None) -> list[list]:
    """The batch's sequences in forward passes of at most `max_tokens` padded tokens (rows x longest row; one sequence
    at least): sorted by length, so each pass pads to its own longest. None: one pass, in the drawn order."""
    if max_tokens is None:
        return [encoded]
    parts, part = [], []
    for seq in sorted(encoded, key=lambda e: len(e[0])):
        if part and (len(part) + 1) * len(seq[0]) > max_tokens:
            parts.append(part)
            part = []
        part.append(seq)
    return parts + [part]


def scored_count(micro: list[tuple]) -> int:
    """Scored tokens of a step's micro-batches (labels not -100 after the shift); read on the CPU tensors."""
    return sum(int((labels[:, 1:] != -100).sum()) for _, _, labels in micro)


def draw_transcripts(rng: random.Random, train_examples: dict[str, list[dict]], names: list[str],
                     batch_size: int) -> list[list[dict]]:
    """The next batch's transcripts: a task, then one of its examples, uniformly, in `rng`'s seeded order."""
    picks = [train_examples[names[rng.randrange(len(names))]] for _ in range(batch_size)]
    return [p[rng.randrange(len(p))]["messages"] for p in picks]


def tokenize_step(tokenizer, transcripts: list[list[dict]], max_tokens: int | None) -> tuple[list[tuple], int, int]:
    """One step's micro-batches as CPU tensors, with its scored-token count and token count, read here on the CPU so
    that the step does not wait for the device to read them."""
    parts = [make_batch(part, tokenizer.pad_token_id, "cpu")
             for part in micro_batches(encode_chats(tokenizer, transcripts), max_tokens)]
    return parts, scored_count(parts), sum(int(mask.sum()) for _, mask, _ in parts)


def forward_backward(model, micro: list[tuple], amp: bool, device, count: int | None = None) -> torch.Tensor:
    """One step's loss over its micro-batches, gradients accumulated in the model (zeroed first): each pass's summed
    loss over the step's `count` scored tokens (scored_count), so the gradient is that of the whole batch's mean
    (train/loss.py). Returns the loss as a tensor on the device, not read here: the caller reads it with the gradient
    norm in one synchronisation per step. A non-finite value means some pass's loss was not finite; its gradients
    are then not finite either, and the caller stops before the update."""
    count = scored_count(micro) if count is None else count
    model.zero_grad(set_to_none=True)
    value = None
    for ids, mask, labels in micro:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            total, _ = scored_token_loss_sum(model, ids, mask, labels)  # logits at the scored positions only
        loss = total / max(count, 1)
        loss.backward()
        value = loss.detach() if value is None else value + loss.detach()
    return value


def train(model, tokenizer, train_examples: dict[str, list[dict]], cfg, *, seed: int, device, log=None, progress=None,
          validate=None, name: str = "probe") -> dict:
    """Train in place. `cfg` has max_steps, batch_size, lr, warmup_steps, weight_decay, grad_clip, log_every and
    optionally max_seconds (stop after the first step that ends past it, not counting the first step, which holds
    kernel compilation and autotuning; the schedule stays the max_steps one) and
    val_every (every that many steps, `validate(model) -> accuracy` is scored, except at the last step, which the
    caller scores; its time is not training time). Without a showing progress bar, each logged point and validation
    point is also a log line, prefixed with `name`.

    Returns a summary: steps (those run), tokens, seconds, initial/final loss (mean of the first/last `log_every`
    steps), the loss curve [[step, loss], ...], the validation points [[step, accuracy], ...] taken during training
    (`val_curve`, with `validate` and val_every), epochs (passes over the training examples), first_step_seconds,
    stopped_at_step (None unless max_seconds stopped it early) and diverged_at_step (None unless a step's loss or
    gradient norm was not finite: training stops before that step's update).
    """
    max_seconds, val_every = check_train_config(cfg)
    echo = name if progress is None or getattr(progress, "disable", False) else None
    names = sorted(train_examples)
    rng = random.Random(seed)

    def draw():
        return draw_transcripts(rng, train_examples, names, cfg.batch_size)

    micro_tokens = check_micro_batch_tokens(cfg.get("micro_batch_tokens"))

    def tokenize(transcripts):  # on the CPU, in the prefetch thread, while the device runs the step before
        return tokenize_step(tokenizer, transcripts, micro_tokens)

    # Batches are tokenized as drawn, one step ahead: up front, a training set of max_steps x batch_size examples (each
    # drawn about once: the protocol that keeps memorisation out) would be tokenized before step 1 and held in memory.
    smallest = min(len(train_examples[n]) for n in names)
    draws = cfg.max_steps * cfg.batch_size / len(names)  # per task, on average
    if draws > smallest:
        logger.warning("%s: %d steps x batch %d draw each task's examples %.1f times on average: examples repeat and the "
                       "training loss can fall by memorising them (compare train.val_loss); with train.n_examples=%d "
                       "each is drawn about once", name, cfg.max_steps, cfg.batch_size,
                       draws / smallest, math.ceil(draws))
    prefetch = ThreadPoolExecutor(max_workers=1)
    pending = prefetch.submit(tokenize, draw())
    device = torch.device(device)
    amp = device.type == "cuda" and cfg.get("precision", "auto") in ("auto", "bf16")  # bf16 autocast on GPUs
    model.to(device).train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    opt = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.95))
    curve, window = [], []
    tokens, t0 = 0, time.time()
    since = {"step": 0, "clock": 0.0, "tokens": 0}  # the last logged point, for the current rates
    first_loss, stopped, diverged, val_curve, val_seconds, first_step = None, None, None, [], 0.0, 0.0
    for step in range(cfg.max_steps):
        # a job time limit ended it; the first step is not counted: on GPUs it compiles and autotunes the kernels
        # (minutes on a cold cache), which would leave the first rate of a grid fewer steps than the others
        if max_seconds and step and time.time() - t0 - val_seconds - first_step > max_seconds:
            stopped = step
            break
        parts, count, step_tokens = pending.result()
        micro = [tuple(t.to(device) for t in part) for part in parts]
        if step + 1 < cfg.max_steps:
            pending = prefetch.submit(tokenize, draw())
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg.max_steps, cfg.lr, cfg.warmup_steps)
        loss = forward_backward(model, micro, amp, device, count)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        value, norm = torch.stack([loss.float(), norm.float().to(loss.device)]).tolist()  # the step's one read
        if not (math.isfinite(value) and math.isfinite(norm)):  # diverged: stop before the update, keeping the last finite
            diverged = step + 1  # weights (a step with a non-finite gradient would write NaN into every weight)
            what = f"loss is {value}" if not math.isfinite(value) else f"gradient norm is {norm}"
            logger.warning("%s: %s at step %d; training stops there (train.diverged_at_step)", name, what, diverged)
            break
        opt.step()
        if step == 0:
            first_step = time.time() - t0
        tokens += step_tokens
        window.append(value)
        if len(window) == cfg.log_every or step == cfg.max_steps - 1:
            first_loss = _log_point(curve, window, step + 1, first_loss, opt, tokens, time.time() - t0 - val_seconds,
                                    since, log, echo)
            window = []
        if validate is not None and val_every and (step + 1) % val_every == 0 and step + 1 < cfg.max_steps:
            t_val = time.time()
            model.eval()
            val_curve.append([step + 1, validate(model)])
            if echo is not None:
                logger.info("%s step %d: validation accuracy %.1f%%", echo, step + 1, 100 * val_curve[-1][1])
            model.train()
            val_seconds += time.time() - t_val
            if log is not None:
                log({"val/accuracy": val_curve[-1][1]}, step=step + 1)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{value:.3f}")
    ran = stopped if stopped is not None else (diverged - 1 if diverged is not None else cfg.max_steps)
    if ran < cfg.max_steps and window:  # the steps since the last logged point
        first_loss = _log_point(curve, window, ran, first_loss, opt, tokens, time.time() - t0 - val_seconds, since, log,
                                echo)
    seconds = time.time() - t0 - val_seconds
    prefetch.shutdown(cancel_futures=True)
    model.eval()
    # batches pick a task, then one of its examples, uniformly: passes over the examples of the smallest task (above
    # 1, examples repeat and the training loss can fall by memorising them)
    epochs = ran * cfg.batch_size / len(names) / smallest
    return {
        "steps": ran,
        "stopped_at_step": stopped,
        "diverged_at_step": diverged,
        "warmup_steps": cfg.warmup_steps,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "tokens": tokens,
        "epochs": round(epochs, 3),
        "seconds": round(seconds, 2),
        "first_step_seconds": round(first_step, 2),
        "tokens_per_s": round(tokens / max(seconds, 1e-9), 1),
        # the most GPU memory tensors held at once while training (the CUDA caching allocator reserves a bit more)
        **({"peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 2)} if device.type == "cuda"
           else {}),
        "initial_loss": first_loss,
        "final_loss": curve[-1][1] if curve else None,
        "loss_curve": curve,
        **({"val_curve": val_curve} if val_curve else {}),
    }
