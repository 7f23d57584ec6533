"""Teacher-forced evaluation: every scored assistant turn is generated from the gold history and scored.

Prompts are rendered with the tokenizer's chat template (the probe's or a pretrained model's own), decoded
greedily, and scored by the task. Model outputs are untrusted text: tasks parse them, never evaluate them.
"""
from __future__ import annotations

from harness.generate import greedy
from models.tokenizer import chat_ids
from tasks.base import example_hash


def evaluate(model, tokenizer, tasks: dict, test_examples: dict[str, list[dict]], cfg, progress_factory=None) -> list[dict]:
    """Per-example records: {task, id, prompt_hash, outputs, golds, score}."""
    prompts, where = [], []
    for name, examples in test_examples.items():
        for e_i, ex in enumerate(examples):
            for t in ex["scored_turns"]:
                prompts.append(chat_ids(tokenizer, ex["messages"][:t], add_generation_prompt=True))
                where.append((name, e_i))
    stop = {tokenizer.eos_token_id}
    progress = progress_factory(len(prompts), "generate") if progress_factory else None
    outputs = greedy(model, prompts, max_new_tokens=cfg.max_new_tokens, stop_ids=stop, pad_id=tokenizer.pad_token_id,
                     batch_size=cfg.batch_size, progress=progress)
    if progress is not None:
        progress.close()
    texts: dict[tuple[str, int], list[str]] = {}
    for (name, e_i), ids in zip(where, outputs):
        texts.setdefault((name, e_i), []).append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    records = []
    for name, examples in test_examples.items():
        task = tasks[name]
        for e_i, ex in enumerate(examples):
            outs = texts[(name, e_i)]
            records.append({
                "task": name,
                "id": ex["id"],
                "prompt_hash": example_hash(ex)[:16],
                "outputs": outs,
                "golds": [ex["messages"][t]["content"] for t in ex["scored_turns"]],
                "score": task.score(ex, outs),
            })
    return records
