"""Evaluation through an OpenAI-compatible endpoint (`model=endpoint`; docs/endpoints.md).

The same transcripts, modes and records as the in-process evaluator (harness/evaluate/scoring.py): a single-turn
example is one request (its history up to the scored turn), a multi-turn one is played by `teacher_forced_turns` /
`interactive_turns` with the endpoint answering each scored turn (interactive: the model's own turns, the task
environment's results fed back). `model.concurrency` examples are in flight at once (a thread pool; the turns of
one episode stay in order). Greedy (`temperature` 0) by default; with `eval.samples_k` = k > 1 every multi-turn
transcript is played k times at `eval.temperature`, each request with a seed drawn from the example, the sample
and the turn, so a server that honours `seed` gives the same draws in every run.

A request the server rejects (context too long, a bad template) or answers with a malformed reply makes that
example an error: its record carries `error` (one line), scores 0 and is counted in results.json; the others go
on. A server that stays unreachable past the client's retries stops the job (EndpointUnavailable) with every reply
so far in the cache. Records are the in-process ones (samples.jsonl), so gaps pair examples across endpoints.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from omegaconf import OmegaConf

from hybrid_eval.harness.decode.endpoint import ChatClient, RequestRejected
from hybrid_eval.harness.decode.response_cache import ResponseCache
from hybrid_eval.harness.evaluate.openai_tools import reply_text, to_openai
from hybrid_eval.harness.evaluate.scoring import (sample_seed, build_records, check_eval_config, interactive_turns,
                                                  teacher_forced_turns)
from hybrid_eval.tasks.data import answer_budgets

SEED_RANGE = 2 ** 31 - 1


def text_budgets(examples: dict[str, list[dict]], floor: int) -> dict[str, int]:
    """`max_tokens` per task without the model's tokenizer: `floor`, raised to half the characters (+4) of the
    task's longest gold answer, enough for any subword tokenizer's tokens of English words and digits."""
    return {name: max(int(floor), max((len(ex["messages"][t]["content"]) // 2 + 4
                                       for ex in exs for t in ex["scored_turns"]), default=0))
            for name, exs in examples.items()}


class _Episode:
    """One example (one sample of it) asked of the endpoint; `respond` is what the turn players call."""

    def __init__(self, client: ChatClient, max_tokens: int, tools: list[dict] | None, temperature: float,
                 seed: int | None):
        self.client, self.max_tokens, self.tools, self.temperature, self.seed = client, max_tokens, tools, temperature, seed
        self.turn = 0

    def respond(self, history: list[dict]) -> str:
        seed = None if self.seed is None else (self.seed + 7919 * self.turn) % SEED_RANGE
        self.turn += 1
        messages = to_openai(history) if self.tools else history
        reply = self.client.chat(messages, max_tokens=self.max_tokens, temperature=self.temperature, seed=seed,
                                 tools=self.tools)
        return reply_text(reply)


def evaluate_endpoint(client: ChatClient, tasks: dict, test_examples: dict[str, list[dict]], cfg, budgets: dict,
                      *, concurrency: int = 8, tool_format: str = "text", progress_factory=None) -> list[dict]:
    """Per-example records as `scoring.evaluate` documents them; an example whose request was rejected also has
    `error` and scores 0. `budgets`: max_tokens per task (answer_budgets with the model's tokenizer, or
    `text_budgets`)."""
    check_eval_config(cfg)
    mode = cfg.get("multi_turn", "teacher_forced")
    k = cfg.get("samples_k", 1)
    multi = lambda ex: len(ex["scored_turns"]) > 1  # noqa: E731
    n_turns = sum(len(ex["scored_turns"]) * (k if multi(ex) else 1) for exs in test_examples.values() for ex in exs)
    progress = progress_factory(n_turns, "generate") if progress_factory else None

    def play(name: str, ex: dict, sample: int | None) -> dict:
        task = tasks[name]
        env = task.environment(ex) if hasattr(task, "environment") else None
        tools = env.tool_schemas() if tool_format == "openai" and hasattr(env, "tool_schemas") else None
        sampled = sample is not None
        episode = _Episode(client, budgets[name], tools, float(cfg.get("temperature", 1.0)) if sampled else 0.0,
                           sample_seed(ex, sample) % SEED_RANGE if sampled else None)
        try:
            if not multi(ex):
                out = episode.respond(ex["messages"][: ex["scored_turns"][0]])
                if progress is not None:
                    progress.update(1)
                return {"outputs": [out]}
            if mode == "interactive":
                return interactive_turns(task, ex, cfg, episode.respond, progress)
            return teacher_forced_turns(ex, episode.respond, progress)
        except RequestRejected as e:
            return {"outputs": [""] * len(ex["scored_turns"]), "error": str(e)}

    jobs = [(name, e_i, s) for name, examples in test_examples.items() for e_i, ex in enumerate(examples)
            for s in ([None] if k == 1 or not multi(ex) else range(k))]
    pool = ThreadPoolExecutor(max_workers=max(1, int(concurrency)))
    try:
        futures = [pool.submit(play, name, test_examples[name][e_i], s) for name, e_i, s in jobs]
        results = [f.result() for f in futures]  # EndpointUnavailable propagates: the job stops, the cache keeps
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if progress is not None:
        progress.close()
    played: dict[tuple[str, int], list[dict]] = {}
    for (name, e_i, _), run in zip(jobs, results):
        played.setdefault((name, e_i), []).append(run)
    return build_records(tasks, test_examples, played, mode, k)


def client_for(model_cfg) -> ChatClient:
    """The client `model.*` describes, with its on-disk reply cache (unless `model.cache=false`)."""
    from hybrid_eval.models.endpoint import api_key

    base_url, name = str(model_cfg.base_url), str(model_cfg.name)
    cache = (ResponseCache(model_cfg.cache_dir, base_url, name) if model_cfg.get("cache", True) else None)
    extra = model_cfg.get("extra_body") or {}
    extra = OmegaConf.to_container(extra, resolve=True) if OmegaConf.is_config(extra) else dict(extra)
    return ChatClient(base_url, name, api_key=api_key(model_cfg), timeout_s=model_cfg.get("timeout_s", 120),
                      max_retries=model_cfg.get("max_retries", 5), backoff_s=model_cfg.get("backoff_s", 1.0),
                      cache=cache, extra_body=extra)


def run_endpoint(model_cfg, tasks: dict, test_examples: dict[str, list[dict]], eval_cfg, tokenizer=None,
                 progress_factory=None) -> tuple[list[dict], dict[str, int], dict]:
    """(records, max_tokens per task, results.json's `endpoint` block) for `model=endpoint`: the budgets are
    answer_budgets in `tokenizer`'s tokens when `model.tokenizer` gave one, else `text_budgets`."""
    budgets = (answer_budgets(tokenizer, test_examples, eval_cfg.max_new_tokens) if tokenizer is not None
               else text_budgets(test_examples, eval_cfg.max_new_tokens))
    client = client_for(model_cfg)
    concurrency = int(model_cfg.get("concurrency", 8))
    t0 = time.perf_counter()
    try:
        records = evaluate_endpoint(client, tasks, test_examples, eval_cfg, budgets, concurrency=concurrency,
                                    tool_format=str(model_cfg.get("tool_format", "text")),
                                    progress_factory=progress_factory)
    finally:
        if client.cache is not None:
            client.cache.close()
    seconds = time.perf_counter() - t0
    errors = [r for r in records if "error" in r]
    summary = {"base_url": client.base_url, "name": client.model, "concurrency": concurrency,
               "tool_format": str(model_cfg.get("tool_format", "text")),
               "budget": "tokenizer" if tokenizer is not None else "characters/2+4",
               "seconds": round(seconds, 3), "examples_per_s": round(len(records) / seconds, 3) if seconds else None,
               **client.summary(), "errors": len(errors),
               "error_examples": [{"task": r["task"], "id": r["id"], "error": r["error"]} for r in errors[:20]]}
    return records, budgets, summary
