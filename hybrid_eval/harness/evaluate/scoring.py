"""Evaluation: every scored assistant turn is generated greedily and scored by its task.

Two modes for multi-turn transcripts (`eval.multi_turn`, docs/design.md §6):
- teacher_forced: the history before each scored turn is the gold transcript;
- interactive: the model's own earlier answers form the history; for a task with an environment
  (`task.environment(example)`, tool_episode) each answer is run as a call by the strict parser
  (tasks/multi_turn/tool_call.py) and the environment's result is fed back as the `tool` message. The episode
  ends after the last scored turn or after `eval.max_turns` generated turns (later turns score an empty answer).
With `eval.samples_k` > 1 each multi-turn transcript is played k times, sampled, and pass^k is recorded (tau-bench).

Transcripts with one scored turn are the same in both modes and are decoded in left-padded batches
(harness/decode/greedy.py). Transcripts with several are decoded one `Conversation` at a time with cache reuse
(harness/decode/conversation.py): the history is prefilled once and each turn runs only its new tokens.
`eval.decode` (auto | plain | static | graph) picks how greedy tokens are decoded (harness/decode/static_decode.py: on CUDA,
static cache buffers and CUDA graphs); the tokens are the same on every path.
Prompts are rendered with the tokenizer's chat template (the probe's or a pretrained model's own). Model outputs
are untrusted text: tasks parse them, never evaluate them.
"""
from __future__ import annotations

import torch

from hybrid_eval.harness.decode.conversation import Conversation
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.decode.greedy import greedy
from hybrid_eval.harness.decode.static_decode import check_mode, release
from hybrid_eval.models.tokenizer import chat_ids
from hybrid_eval.tasks.base import example_hash
from hybrid_eval.tasks.data import answer_budgets
from hybrid_eval.harness.analysis.pass_k import pass_at_k, pass_hat_k

MODES = ("teacher_forced", "interactive")


def check_eval_config(cfg) -> None:
    """One-line ConfigError for a bad `eval.multi_turn` or `eval.max_turns`."""
    mode = cfg.get("multi_turn", "teacher_forced")
    if mode not in MODES:
        raise ConfigError(f"eval.multi_turn={mode!r}; accepted: {', '.join(MODES)}")
    max_turns = cfg.get("max_turns", None)
    if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1):
        raise ConfigError(f"eval.max_turns={max_turns!r}; accepted: null (no budget) or an integer >= 1")
    check_mode(cfg.get("decode", "auto"))
    k = cfg.get("samples_k", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"eval.samples_k={k!r}; accepted: an integer >= 1 (1: greedy)")
    temperature = cfg.get("temperature", 1.0)
    if k > 1 and (isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0):
        raise ConfigError(f"eval.temperature={temperature!r} with eval.samples_k={k}; accepted: a number > 0")


def _text(tokenizer, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=True).strip()


def teacher_forced_episode(model, tokenizer, task, ex: dict, cfg, stop: set[int], progress=None, *, max_new_tokens: int,
                           **sampling) -> dict:
    """Outputs for every scored turn of `ex` from the gold history, one cache for the whole transcript."""
    conv = Conversation(model, decode=cfg.get("decode", "auto"))
    played = teacher_forced_turns(ex, _local_responder(conv, tokenizer, stop, max_new_tokens, sampling), progress)
    return {**played, "tokens_run": conv.tokens_run, "reprefills": conv.reprefills}


def interactive_episode(model, tokenizer, task, ex: dict, cfg, stop: set[int], progress=None, *, max_new_tokens: int,
                        **sampling) -> dict:
    """Outputs and transcript of `ex` played with the model's own answers (and the environment's results)."""
    conv = Conversation(model, decode=cfg.get("decode", "auto"))
    played = interactive_turns(task, ex, cfg, _local_responder(conv, tokenizer, stop, max_new_tokens, sampling), progress)
    return {**played, "tokens_run": conv.tokens_run, "reprefills": conv.reprefills}


def _local_responder(conv: Conversation, tokenizer, stop: set[int], max_new_tokens: int, sampling: dict):
    def respond(history: list[dict]) -> str:
        conv.extend_to(chat_ids(tokenizer, history, add_generation_prompt=True))
        return _text(tokenizer, conv.generate(max_new_tokens=max_new_tokens, stop_ids=stop, **sampling))
    return respond


def teacher_forced_turns(ex: dict, respond, progress=None) -> dict:
    """{outputs}: `respond(history) -> text` asked at every scored turn of `ex`, the history being the gold one."""
    outs = []
    for t in ex["scored_turns"]:
        outs.append(respond(ex["messages"][:t]))
        if progress is not None:
            progress.update(1)
    return {"outputs": outs}


def interactive_turns(task, ex: dict, cfg, respond, progress=None) -> dict:
    """{outputs, transcript, turns_run}: `ex` played with `respond(history) -> text` giving the model's turns.

    For a task with an environment, each answer is run as a call by the strict parser and the environment's
    result is fed back as the `tool` message. The episode ends after the last scored turn or after
    `eval.max_turns` generated turns (later turns score an empty answer). `respond` is the in-process decoder
    (above) or an endpoint's client (harness/evaluate/endpoint_scoring.py); both see the same histories."""
    env = task.environment(ex) if hasattr(task, "environment") else None
    max_turns = cfg.get("max_turns", None)
    scored = set(ex["scored_turns"])
    outs, history, seen = [], [], 0
    for j, m in enumerate(ex["messages"]):
        if j in scored:
            if max_turns is not None and len(outs) >= max_turns:
                del history[seen:]  # the transcript ends with what the model saw: its last answer and tool result
                break
            outs.append(respond(history))
            history.append({"role": "assistant", "content": outs[-1]})
            seen = len(history)
            if progress is not None:
                progress.update(1)
        elif m["role"] == "tool" and env is not None and history and history[-1]["role"] == "assistant":
            # the call just made (the model's, or a gold unscored one), parsed strictly and run in the environment
            history.append({"role": "tool", "content": env.run(history[-1]["content"])})
            seen = len(history)
        else:
            history.append({"role": m["role"], "content": m["content"]})
    turns_run = len(outs)
    if progress is not None and turns_run < len(scored):
        progress.update(len(scored) - turns_run)
    outs += [""] * (len(scored) - turns_run)  # past the turn budget: no answer
    return {"outputs": outs, "transcript": history, "turns_run": turns_run}


def _success(task, ex: dict, outs: list[str], score: float) -> bool:
    """An episode succeeds when its end state matches the gold (tasks with an environment), else all turns are right."""
    return bool(task.final_state_match(ex, outs)) if hasattr(task, "final_state_match") else score == 1.0


def sample_seed(ex: dict, sample: int) -> int:
    """The seed of sample `sample` of `ex`: the same for an example in every run, variant and endpoint."""
    return int(example_hash(ex)[:12], 16) + sample  # the same draws for an example in every run and variant


def evaluate(model, tokenizer, tasks: dict, test_examples: dict[str, list[dict]], cfg, progress_factory=None) -> list[dict]:
    """Per-example records: {task, id, prompt_hash, outputs, golds, score} plus mode and turn_scores; multi-turn
    transcripts add tokens_run and reprefills, interactive ones transcript and turns_run, and tasks with a
    `final_state_match` (tool_episode) add final_state_match (the model's calls replayed from the start state).

    With `eval.samples_k` = k > 1, every multi-turn transcript is played k times, sampling at `eval.temperature`
    (single-turn ones stay greedy): outputs, turn_scores, transcript and final_state_match are the first sample's,
    score is the mean over the k samples, `samples` holds each sample's {outputs, score, success[, transcript]}, and
    pass_hat_k / pass_at_k (harness/analysis/pass_k.py) are over the k samples (success: final state matches, or
    every turn right for tasks without an environment).
    """
    check_eval_config(cfg)
    mode = cfg.get("multi_turn", "teacher_forced")
    k = cfg.get("samples_k", 1)
    stop = {tokenizer.eos_token_id}
    multi = lambda ex: len(ex["scored_turns"]) > 1  # noqa: E731
    n_turns = sum(len(ex["scored_turns"]) * (k if multi(ex) else 1) for exs in test_examples.values() for ex in exs)
    progress = progress_factory(n_turns, "generate") if progress_factory else None

    budget = answer_budgets(tokenizer, test_examples, cfg.max_new_tokens)
    # one scored turn: batched, left-padded greedy over all such examples (one pass per distinct answer budget)
    played: dict[tuple[str, int], list[dict]] = {}
    for n_new in sorted(set(budget.values())):
        prompts, where = [], []
        for name, examples in test_examples.items():
            for e_i, ex in enumerate(examples):
                if not multi(ex) and budget[name] == n_new:
                    prompts.append(chat_ids(tokenizer, ex["messages"][: ex["scored_turns"][0]], add_generation_prompt=True))
                    where.append((name, e_i))
        outputs = greedy(model, prompts, max_new_tokens=n_new, stop_ids=stop, pad_id=tokenizer.pad_token_id,
                         batch_size=cfg.batch_size, batch_tokens=cfg.get("batch_tokens", None), progress=progress,
                         decode=cfg.get("decode", "auto"))
        played |= {key: [{"outputs": [_text(tokenizer, ids)]}] for key, ids in zip(where, outputs)}

    # several scored turns: one conversation each (k of them when sampling), with cache reuse
    episode = interactive_episode if mode == "interactive" else teacher_forced_episode
    for name, examples in test_examples.items():
        for e_i, ex in enumerate(examples):
            if not multi(ex):
                continue
            if k == 1:
                played[(name, e_i)] = [episode(model, tokenizer, tasks[name], ex, cfg, stop, progress,
                                               max_new_tokens=budget[name])]
            else:
                played[(name, e_i)] = [
                    episode(model, tokenizer, tasks[name], ex, cfg, stop, progress, max_new_tokens=budget[name],
                            temperature=float(cfg.get("temperature", 1.0)),
                            generator=torch.Generator().manual_seed(sample_seed(ex, s)))
                    for s in range(k)
                ]
    if progress is not None:
        progress.close()
    release(model)  # the decoding fast path's static caches and CUDA graphs

    return build_records(tasks, test_examples, played, mode, k)


def build_records(tasks: dict, test_examples: dict[str, list[dict]], played: dict[tuple[str, int], list[dict]],
                  mode: str, k: int) -> list[dict]:
    """Score what was played (`played[(task alias, example index)]`: one dict per sample, with `outputs` and any
    per-episode fields) into the records `evaluate` documents, in the order of `test_examples`. A sample with
    `error` (an endpoint's rejected request) scores 0; the record then carries the first sample's error."""
    records = []
    for name, examples in test_examples.items():
        task = tasks[name]
        for e_i, ex in enumerate(examples):
            runs = played[(name, e_i)]
            # a run whose request an endpoint rejected carries `error` and scores 0 (harness/evaluate/endpoint_scoring.py)
            scores = [0.0 if "error" in run else task.score(ex, run["outputs"]) for run in runs]
            first = dict(runs[0])
            outs = first.pop("outputs")
            error = next((run["error"] for run in runs if "error" in run), None)
            record = {
                "task": name,
                "id": ex["id"],
                "prompt_hash": example_hash(ex)[:16],
                "outputs": outs,
                "golds": [ex["messages"][t]["content"] for t in ex["scored_turns"]],
                "score": sum(scores) / len(scores),
                "mode": mode,
                "turn_scores": [0.0 if "error" in first else task.score_turn(ex, t, o)
                                for t, o in zip(ex["scored_turns"], outs)],
                **first,
            }
            if error is not None:
                record["error"] = error
            if hasattr(task, "final_state_match"):
                record["final_state_match"] = "error" not in first and bool(task.final_state_match(ex, outs))
            if len(runs) > 1:
                success = ["error" not in run and _success(task, ex, run["outputs"], sc) for run, sc in zip(runs, scores)]
                record["samples"] = [{"outputs": run["outputs"], "score": sc, "success": ok,
                                      **({"transcript": run["transcript"]} if "transcript" in run else {}),
                                      **({"error": run["error"]} if "error" in run else {})}
                                     for run, sc, ok in zip(runs, scores, success)]
                record["pass_hat_k"] = pass_hat_k([success], k)
                record["pass_at_k"] = pass_at_k([success], k)
            records.append(record)
    return records
