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

A multi-turn example is one doc per scored turn, each with the gold history before it (the harness's
teacher-forced mode). Scores equal the harness's (`harness.evaluate.scoring`): outputs are stripped like the
harness strips them, and the metric `score` is aggregated per example: the turns' outputs are put back in order
and scored by `task.score(example, outputs)` (the mean over its scored turns), then averaged over examples, so
an example counts once however many turns it has. `turn_score` is the per-doc `task.score_turn`, averaged over
docs (turns).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

METRIC = "score"
TURN_METRIC = "turn_score"
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
    """The harness's score of `output` for the doc's turn alone (`task.score_turn`)."""
    task = task_from_spec(doc["task_spec"])
    return float(task.score_turn(json.loads(doc["example"]), int(doc["turn"]), output.strip()))


def score_example(task_spec: str, example: str, outputs_by_turn: dict[int, str]) -> float:
    """The harness's score of one example from its turns' outputs ({turn index: output}): `task.score`."""
    task, ex = task_from_spec(task_spec), json.loads(example)
    missing = [t for t in ex["scored_turns"] if t not in outputs_by_turn]
    if missing:
        raise ValueError(f"example {ex['id']}: no output for scored turns {missing} (was the export filtered?)")
    return float(task.score(ex, [outputs_by_turn[t].strip() for t in ex["scored_turns"]]))


def per_example(items: list[dict]) -> dict[str, float]:
    """{example id: score} from `process_results` items of any number of examples and turns."""
    grouped: dict[str, tuple[str, str, dict[int, str]]] = {}
    for it in items:
        grouped.setdefault(it["id"], (it["task_spec"], it["example"], {}))[2][int(it["turn"])] = it["output"]
    return {i: score_example(spec, ex, outs) for i, (spec, ex, outs) in grouped.items()}


def aggregate(items: list[dict]) -> float:
    """lm-eval aggregation of `score`: the mean over examples of the per-example score."""
    scores = list(per_example(items).values())
    return sum(scores) / len(scores) if scores else float("nan")


def process_results(doc: dict, results: list[str]) -> dict:
    """lm-eval hook: `results` holds the (filtered) generation for `doc`, one turn of one example."""
    item = {"id": doc["id"], "turn": int(doc["turn"]), "output": results[0], "example": doc["example"],
            "task_spec": doc["task_spec"]}
    return {METRIC: item, TURN_METRIC: score_doc(doc, results[0])}
