"""lm-eval's side of an exported task: load the exported docs, score a generation with the task's own scorer.

`harness.evaluate.lm_eval_export` writes, per task, a JSONL of docs and a YAML whose `custom_dataset` and
`process_results` are `!function` hooks in a small module beside it; that module calls `load_docs` and
`process_results` here. A doc is one scored assistant turn of one harness test example:

    id         the harness example id
    prompt     the chat-rendered history before the turn, ending in the generation prompt (`<|assistant|>`)
    target     the gold answer of the turn
    turn       index of the turn in `messages`
    example    the whole harness example (JSON)
    task_spec  {"name", "alias", "knobs", "include"} (JSON): enough to rebuild the registered task

Scores equal the harness's (`harness.evaluate.scoring`): the output is stripped like the harness strips it, an
example with one scored turn is scored by `task.score(example, [output])`, and a multi-turn example
(flattened to its final scored turn) by `task.score_turn(example, turn, output)`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

METRIC = "score"
DOC_FIELDS = ("id", "prompt", "target", "turn", "example", "task_spec")


def load_docs(path: str | Path):
    """The exported docs of one task as lm-eval expects a custom dataset: a DatasetDict with a `test` split."""
    import datasets

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lm-eval export: no docs file {path}; re-run `hybrid-eval-export-lm-eval`")
    with path.open(encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


@lru_cache(maxsize=None)
def task_from_spec(spec: str):
    """The registered task (with its knobs and alias) that a doc's `task_spec` names; plugins are imported first."""
    from hybrid_eval.tasks.registry import build, include

    s = json.loads(spec)
    for plugin in s.get("include") or []:
        include(plugin)
    task = build(s["name"], **s["knobs"])
    task.alias = s["alias"]
    return task


def score_doc(doc: dict, output: str) -> float:
    """The harness's score of `output` for the doc's turn (see the module docstring)."""
    task = task_from_spec(doc["task_spec"])
    example = json.loads(doc["example"])
    output = output.strip()  # harness.evaluate.scoring strips decoded outputs
    if len(example["scored_turns"]) == 1:
        return float(task.score(example, [output]))
    return float(task.score_turn(example, int(doc["turn"]), output))


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """lm-eval hook: `results` holds the (filtered) generation for `doc`."""
    return {METRIC: score_doc(doc, results[0])}
