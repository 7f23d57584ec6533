"""One job: build the suite's data, the probe tokenizer and model, train, evaluate, write results.

    conf -> tasks (data) -> tokenizer -> models.build -> train -> evaluate -> results.json, samples.jsonl, W&B

A rerun into the same directory skips a job whose results are complete, intact and of the same settings, and reuses
a saved checkpoint whose weights are intact and of the same settings; damaged files are redone, results or a
checkpoint of other settings stop the run with one line (README "Resuming and integrity", harness/fingerprint.py).
"""
from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import AutoTokenizer

from hybrid_eval import kernels
from hybrid_eval.kernels.backends import fla_autotune
from hybrid_eval import models
from hybrid_eval.harness.analysis import stats
from hybrid_eval.harness import config_check, fingerprint, lock, store
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.launch import gpu_share
from hybrid_eval.harness.evaluate import lm_eval_run
from hybrid_eval.harness.evaluate.endpoint_scoring import run_endpoint
from hybrid_eval.harness.progress import progress
from hybrid_eval.harness.provenance import provenance
from hybrid_eval.harness.report.tracking import job_tags
from hybrid_eval.harness.threads import choose_threads
from hybrid_eval.harness.train.loop import held_out_loss
from hybrid_eval.harness.train.probe import train_probe
from hybrid_eval.harness.train.protocol import did_not_train
from hybrid_eval.harness.evaluate.scoring import evaluate
from hybrid_eval.models.tokenizer import build_probe_tokenizer
from hybrid_eval.tasks.base import words
from hybrid_eval.tasks.data import Suite, answer_budgets, load_splits

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available; accepted here: auto, cpu")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ConfigError(f"device={name!r}; accepted: auto, cpu, cuda, cuda:N")
    return torch.device(name)


def set_kernel_backend(cfg: DictConfig, device: torch.device) -> str:
    """Apply `kernels.backend` for this run (models/binding.py routes the linear layers through kernels/)."""
    name = str(OmegaConf.select(cfg, "kernels.backend", default="auto"))
    if name not in kernels.BACKENDS:
        raise ConfigError(f"kernels.backend={name!r}; accepted: {', '.join(kernels.BACKENDS)}")
    if name == "fla" and device.type != "cuda":
        raise ConfigError(f"kernels.backend=fla needs a CUDA device (device is {device}); use auto, torch or reference")
    if name == "fla" and not kernels.fla_available():
        raise ConfigError("kernels.backend=fla but flash-linear-attention is not installed: pip install 'hybrid-eval[gpu]'")
    kernels.set_backend(name)
    fla_autotune.set_mode(str(OmegaConf.select(cfg, "kernels.autotune", default="fast")))
    return name


def kernel_paths(before: dict, train_summary: dict | None = None) -> dict:
    """Calls of each linear-attention op per backend since `before` (a copy of kernels.calls), e.g. 'kda:fla'; for a
    job that reused its checkpoint, plus the training's calls recorded with it (train.kernel_calls)."""
    out = kernels.calls_since(before)
    if train_summary and train_summary.get("resumed"):
        for key, n in (train_summary.get("kernel_calls") or {}).items():
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items()))


def suite_tokenizer(suite: Suite, data: dict[str, dict[str, list[dict]]]):
    vocab = set()
    for task in suite.tasks:
        vocab.update(task.vocabulary())
        for examples in data[task.alias].values():
            for ex in examples:
                for m in ex["messages"]:
                    vocab.update(words(m["content"]))
    return build_probe_tokenizer(vocab)


def summarize(suite: Suite, records: list[dict]) -> tuple[dict, dict]:
    by_task: dict[str, list[float]] = {}
    episode: dict[str, dict[str, list[float]]] = {}  # per-episode metrics some records carry (harness/evaluate/scoring.py)
    for r in records:
        by_task.setdefault(r["task"], []).append(r["score"])
        for key in ("final_state_match", "pass_hat_k", "pass_at_k"):
            if key in r:
                episode.setdefault(r["task"], {}).setdefault(key, []).append(float(r[key]))
    tasks, cats = {}, {}
    for task in suite.tasks:
        scores = by_task[task.alias]
        est, lo, hi = stats.mean_ci([scores])
        tasks[task.alias] = {"task": task.name, "category": task.category, "score": est, "ci95": [lo, hi], "n": len(scores),
                            "chance": task.chance(), "context_guess": task.context_guess(), "knobs": task.knob_dict(),
                            **{key: sum(v) / len(v) for key, v in episode.get(task.alias, {}).items()}}
        cats.setdefault(task.category, []).append(scores)
    cis = {c: stats.mean_ci(groups) for c, groups in cats.items()}
    return tasks, {"scores": {c: ci[0] for c, ci in cis.items()}, "ci95": {c: list(ci[1:]) for c, ci in cis.items()}}


def _validate(suite: Suite, tokenizer, val_data: dict[str, list[dict]], eval_cfg, device, model) -> dict:
    """Per task, the validation split's summary (as the test split's: score, chance, ...) and its held-out loss."""
    tasks, _ = summarize(suite, evaluate(model, tokenizer, {t.alias: t for t in suite.tasks}, val_data, eval_cfg))
    for alias, loss in held_out_loss(model, tokenizer, val_data, device).items():
        tasks[alias]["loss"] = loss
    return tasks


def suite_data(cfg, suite: Suite | None = None) -> dict[str, dict[str, list]]:
    """Every task's train / validation / test examples for the job `cfg`, generated or read from the cache (shared
    by every job with the same suite, sizes and data seed: `hydra/launcher=pack` fills it once before its jobs)."""
    suite = suite if suite is not None else Suite.from_config(cfg.suite)
    sizes = {"train": cfg.train.n_examples, "validation": cfg.train.n_validation, "test": cfg.eval.n_test}
    t_data = time.time()
    log.info("suite %s: generating (or reading from the cache) %d tasks x %s examples", suite.name, len(suite.tasks),
             " / ".join(f"{n} {split}" for split, n in sizes.items()))
    data = {t.alias: load_splits(t, sizes, seed=cfg.suite.seed, cache_dir=cfg.cache_dir) for t in suite.tasks}
    log.info("suite %s: data ready in %.0f s", suite.name, time.time() - t_data)
    return data


def run_job(cfg: DictConfig, job_dir: Path) -> dict:
    """The job into `job_dir`, locked against a second process (harness/lock.py); see the module's docstring."""
    job_dir = Path(job_dir)
    config_check.check(cfg)  # every knob of every group, one line for the first bad one (before any work)
    with lock.held(job_dir):
        return _run(cfg, job_dir)


def _run(cfg: DictConfig, job_dir: Path) -> dict:
    suite = Suite.from_config(cfg.suite)
    job_fingerprint = fingerprint.results(cfg, suite)
    problem = store.job_problem(job_dir, job_fingerprint)
    if problem is None:
        log.info("results in %s are complete and verified; skipping", job_dir)
        return store.read_json(job_dir / store.RESULTS)
    if problem[0] == "settings":
        raise ConfigError(f"{problem[1]}; accepted: the same settings, or another output directory "
                          "(hydra.run.dir / hydra.sweep.dir)")
    if problem[0] == "damaged":
        log.warning("%s; the job is redone", problem[1])
    t_start = time.time()
    torch.set_num_threads(choose_threads(cfg.get("threads")))  # null: the cores other processes leave free
    device = pick_device(str(cfg.device))
    gpu_share.apply(device)  # a packed job's share of its GPU's memory (hydra.launcher.gpu_memory), if the launcher set one
    kernel_backend = set_kernel_backend(cfg, device)
    calls_before = dict(kernels.calls)
    pretrained = models.is_pretrained(cfg.model)
    endpoint = models.is_endpoint(cfg.model)  # model=endpoint: asked over HTTP (harness/evaluate/endpoint_scoring.py)
    if endpoint and cfg.model.get("baseline_name") is not None:  # the named baseline first, into <job>/baseline/
        m = cfg.model
        run_job(OmegaConf.merge(cfg, {"model": {
            "name": m.baseline_name, "base_url": m.get("baseline_base_url") or m.base_url,
            "api_key_env": m.get("baseline_api_key_env") or m.get("api_key_env"), "baseline_name": None}}),
            job_dir / store.BASELINE_DIR)
    if pretrained and cfg.model.get("baseline_path") is not None:  # the named baseline first, into <job>/baseline/
        run_job(OmegaConf.merge(cfg, {"model": {"path": cfg.model.baseline_path, "baseline_path": None}}),
                job_dir / store.BASELINE_DIR)
    lm_eval_plan = lm_eval_run.plan(cfg.eval, suite, endpoint=cfg.model if endpoint else None)  # eval.lm_eval_tasks checked (registry tasks loaded) before data and training
    # train/validation are generated for pretrained models too: test examples exclude them, so every job shares a test set
    data = suite_data(cfg, suite)
    if endpoint:  # no weights here; a local tokenizer (optional) only counts answer budgets
        from hybrid_eval.models.endpoint import info as endpoint_card

        model, info = None, endpoint_card(cfg.model)
        tokenizer = (AutoTokenizer.from_pretrained(str(cfg.model.tokenizer), local_files_only=True)
                     if cfg.model.get("tokenizer") else None)
    elif pretrained:  # evaluated as is, with its own tokenizer
        model, tokenizer, info = models.load_pretrained(cfg.model)
    else:
        tokenizer = suite_tokenizer(suite, data)
        model, info = models.build(cfg.model, tokenizer, seed=cfg.seed)
    name = f"{info['family']}:{info['pattern']}:{info['size']}"
    make_tracker = instantiate(cfg.logger, _partial_=True)
    prov = provenance(device)  # code, package versions, hardware: in results.json and the W&B config
    tracker = make_tracker(job_dir=str(job_dir), run_name=f"{name}:seed{cfg.seed}", job_type=str(info["pattern"]),
                           run_config={**OmegaConf.to_container(cfg, resolve=True), "provenance": prov})
    tracker.tag(job_tags(info, suite.name, int(cfg.seed)))
    ckpt = job_dir / CHECKPOINT
    try:
        if pretrained or endpoint:
            train_summary = {("endpoint" if endpoint else "pretrained"): info.get("base_url", info.get("path")), **dict.fromkeys(
                ("steps", "warmup_steps", "batch_size", "tokens", "initial_loss", "final_loss", "seconds"))}
            validation = None
        else:  # once at train.lr, or once per rate of train.lr_grid keeping the best on validation; reuses ckpt
            val_data = {k: v["validation"] for k, v in data.items() if "validation" in v}
            validate = partial(_validate, suite, tokenizer, val_data, cfg.eval, device) if val_data else None
            model, train_summary, validation = train_probe(
                model, tokenizer, {k: v["train"] for k, v in data.items()}, cfg.train, seed=cfg.seed, device=device,
                ckpt=ckpt, validate=validate, log=tracker.log, progress=progress, name=name,
                fingerprint=fingerprint.weights_extra(cfg, suite))
        if model is not None and len(set(getattr(model, "hf_device_map", {}).values())) <= 1:  # else placed by model.device_map
            model.to(device).eval()
        verdict = {}
        if validation is not None:  # scored on the validation split (harness/train/protocol.py)
            flag, reason = did_not_train(train_summary["initial_loss"], train_summary["final_loss"], validation,
                                         train_summary.get("diverged_at_step"), len(train_summary.get("loss_curve") or []))
            verdict = {"did_not_train": flag, "did_not_train_reason": reason}
        t_eval = time.time()
        log.info("%s: evaluating %d test examples (%s)", name, sum(len(v["test"]) for v in data.values()),
                 ", ".join(f"{k} {len(v['test'])}" for k, v in data.items()))
        endpoint_info = None
        if endpoint:
            records, budgets, endpoint_info = run_endpoint(cfg.model, {t.alias: t for t in suite.tasks},
                                                           {k: v["test"] for k, v in data.items()}, cfg.eval, tokenizer,
                                                           progress_factory=progress)
        else:
            records = evaluate(model, tokenizer, {t.alias: t for t in suite.tasks},
                               {k: v["test"] for k, v in data.items()}, cfg.eval, progress_factory=progress)
            budgets = answer_budgets(tokenizer, {k: v["test"] for k, v in data.items()}, cfg.eval.max_new_tokens)
        eval_seconds = time.time() - t_eval
        log.info("%s: evaluated in %.0f s", name, eval_seconds)
        tasks, categories = summarize(suite, records)
        for alias, n in budgets.items():
            tasks[alias]["max_new_tokens"] = n  # as generated (harness/evaluate/scoring.py)
        if endpoint:  # requests the server rejected: scored 0, counted per task (and in results.json's `endpoint`)
            for alias in tasks:
                tasks[alias]["errors"] = sum(1 for r in records if r["task"] == alias and "error" in r)
        lm_eval_info = (lm_eval_run.run(lm_eval_plan, model, tokenizer, cfg, suite, job_dir, data, records, tasks, categories,
                                        endpoint=cfg.model if endpoint else None)
                        if lm_eval_plan else None)  # adds lm_eval/<task> records, tasks and the lm_eval category
        results = {
            "model": info,
            "suite": suite.name,
            "seed": int(cfg.seed),
            "tasks": tasks,
            "categories": categories["scores"],
            "category_ci95": categories["ci95"],
            "train": train_summary,
            "timings": {"train_s": train_summary["seconds"], "eval_s": round(eval_seconds, 2),
                        "total_s": round(time.time() - t_start, 2)},
            "device": str(device),
            "threads": torch.get_num_threads(),  # CPU threads (float summation order can depend on it)
            "kernels": {"backend": kernel_backend, "calls": kernel_paths(calls_before, train_summary)},  # which path ran
            **({"lm_eval": lm_eval_info} if lm_eval_info else {}),
            **({"endpoint": endpoint_info} if endpoint_info else {}),
            **verdict,
            "provenance": prov,
            "complete": True,
        }
        store.write_results(job_dir, results, records, job_fingerprint)  # samples, then results.json with their hash
        results = store.read_json(job_dir / store.RESULTS)
        tracker.results(results)  # summary metrics (scores, params, training, did_not_train) and the task table
        tracker.job_artifact(f"{name}:{suite.name}:seed{cfg.seed}", [job_dir / store.RESULTS, job_dir / store.SAMPLES],
                             checkpoint=ckpt if ckpt.is_dir() else None)  # the checkpoint only with logger.log_checkpoint
    finally:
        tracker.finish()
    log.info("%s: %s", name, {t: round(v["score"], 3) for t, v in tasks.items()})
    return results
