"""A job's files on disk: their names, atomic writes (temp file + rename), the completeness checks that make reruns
resume (results, checkpoint) and the checkpoint's save."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hybrid_eval.models.hf_export import write_generate_shim

RESULTS = "results.json"
SAMPLES = "samples.jsonl"
FAILURE = "failure.txt"  # why a job ended without results (written by hydra/launcher=pack)
BASELINE_DIR = "baseline"  # a pretrained job's subfolder holding model.baseline_path's results
REQUIRED_KEYS = ("model", "tasks", "categories", "train")


def write_text(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1, sort_keys=False) + "\n")


def write_jsonl(path, rows) -> None:
    write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_jsonl(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def is_complete(job_dir) -> bool:
    """A job is complete when its results.json parses, has every required key and its samples exist."""
    job_dir = Path(job_dir)
    try:
        res = read_json(job_dir / RESULTS)
    except (OSError, ValueError):
        return False
    return res.get("complete") is True and all(k in res for k in REQUIRED_KEYS) and (job_dir / SAMPLES).exists()


def is_checkpoint(path) -> bool:
    """A saved, fully trained probe: weights, tokenizer and the training summary written last."""
    path = Path(path)
    return (path / "train.json").exists() and (path / "config.json").exists() and (path / "tokenizer.json").exists()


def save_checkpoint(model, tokenizer, path, summary: dict | None) -> None:
    """Weights and tokenizer into `path`; then the training summary (train.json), written last, which makes
    `is_checkpoint` true. Without a summary the folder is an unfinished checkpoint (a learning-rate grid's best run)."""
    path = Path(path)
    model.save_pretrained(path)
    write_generate_shim(model, path)  # an all-linear probe stays generatable by transformers and `lm_eval --model hf`
    tokenizer.save_pretrained(path)
    if summary is not None:
        write_json(path / "train.json", summary)  # last: marks the checkpoint complete
