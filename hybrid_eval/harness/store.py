"""A job's files on disk: their names, atomic writes (temp file + rename), the integrity checks that make reruns
resume (results, samples, checkpoint) and the checkpoint's save.

A job directory is a verified unit (README "Resuming and integrity"): results.json records the job's fingerprint (a
hash of everything that decides its results) and the line count, size and SHA-256 of samples.jsonl; a checkpoint's
`integrity.json` records the fingerprint of everything that decides its weights and the size and SHA-256 of each
of its safetensors files. A rerun reuses a result or a checkpoint only when both match (`job_problem`,
`checkpoint_problem` say in one line what does not).
"""
from __future__ import annotations

import hashlib
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


def write_together(texts: dict) -> None:
    """Several files that belong together (gaps.json and report.md): every one written to a temp file first, then all
    renamed in one go, so a kill leaves either the old set or the new one (up to the instant between renames)."""
    temps = []
    try:
        for path, text in texts.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            temps.append((tmp, path))
            with os.fdopen(fd, "w") as f:
                f.write(text)
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


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


def digest(obj) -> str:
    """SHA-256 (16 hex digits) of a JSON-able value, keys sorted: a fingerprint."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_record(path) -> dict:
    """{"bytes", "sha256"} of a file, read in 1 MiB blocks."""
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            n += len(block)
    return {"bytes": n, "sha256": h.hexdigest()}


def _file_problem(path: Path, want: dict) -> str | None:
    try:
        got = file_record(path)
    except OSError:
        return f"{path} is missing"
    if got["bytes"] != want.get("bytes"):
        return f"{path} has {got['bytes']} bytes, {want.get('bytes')} were written (truncated or replaced)"
    if got["sha256"] != want.get("sha256"):
        return f"{path} does not match the SHA-256 recorded when it was written (corrupted or replaced)"
    return None


def differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    """`key: saved -> now` for every dotted key whose value differs between two nested dicts."""
    out = []
    for k in sorted(set(saved) | set(now), key=str):
        a, b = saved.get(k, "<unset>"), now.get(k, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def samples_record(path) -> dict:
    """What results.json records of samples.jsonl: its line count, size and SHA-256."""
    with open(path, "rb") as f:
        lines = sum(1 for line in f if line.strip())
    return {"lines": lines, **file_record(path)}


def job_problem(job_dir, fingerprint: dict | None = None) -> tuple[str, str] | None:
    """None when `job_dir` holds a complete, intact result (of `fingerprint`, when given); else (kind, one line):
    ("absent", ...) no results yet; ("damaged", ...) results unreadable or incomplete, samples.jsonl missing, cut or
    changed since results.json recorded it; ("settings", ...) results of other settings, naming what differs."""
    job_dir = Path(job_dir)
    try:
        res = read_json(job_dir / RESULTS)
    except FileNotFoundError:
        return "absent", f"{job_dir / RESULTS} does not exist"
    except (OSError, ValueError) as e:
        return "damaged", f"{job_dir / RESULTS} is unreadable ({type(e).__name__})"
    if not isinstance(res, dict) or res.get("complete") is not True or not all(k in res for k in REQUIRED_KEYS):
        return "damaged", f"{job_dir / RESULTS} is not a complete result"
    record = (res.get("integrity") or {}).get("samples")
    if not record:  # written before integrity records: read by the report if every line parses and none is missing,
        if fingerprint is not None:  # never resumed (its settings are unknown)
            return "damaged", f"{job_dir / RESULTS} was written before integrity records (settings unknown)"
        return _legacy_problem(job_dir, res)
    problem = _file_problem(job_dir / SAMPLES, record)
    if problem is None and samples_record(job_dir / SAMPLES)["lines"] != record.get("lines"):
        problem = f"{job_dir / SAMPLES} does not have the {record.get('lines')} lines recorded"
    if problem:
        return "damaged", problem
    if fingerprint is not None:
        diff = differences((res.get("integrity") or {}).get("fingerprint") or {}, fingerprint)
        if diff:
            return "settings", f"{job_dir / RESULTS} was computed with other settings ({'; '.join(diff)})"
    return None


def _legacy_problem(job_dir: Path, res: dict) -> tuple[str, str] | None:
    """A result without an integrity record: its samples must parse and number what its tasks count (n)."""
    want = sum(int(t.get("n") or 0) for t in (res.get("tasks") or {}).values())
    try:
        lines = read_jsonl(job_dir / SAMPLES)
    except (OSError, ValueError):
        return "damaged", f"{job_dir / SAMPLES} is missing or has a line that does not parse"
    if len(lines) != want:
        return "damaged", f"{job_dir / SAMPLES} has {len(lines)} lines, {RESULTS} counts {want} examples"
    return None


def is_complete(job_dir) -> bool:
    """A job is complete when its results.json is complete and its samples.jsonl is the one results.json recorded."""
    return job_problem(job_dir) is None


def write_results(job_dir, results: dict, records: list[dict], fingerprint: dict) -> None:
    """samples.jsonl, then results.json with the fingerprint and the samples' record (written last: the marker)."""
    job_dir = Path(job_dir)
    write_jsonl(job_dir / SAMPLES, records)
    integrity = {"fingerprint": fingerprint, "samples": samples_record(job_dir / SAMPLES)}
    write_json(job_dir / RESULTS, {**results, "integrity": integrity})


INTEGRITY = "integrity.json"


def is_checkpoint(path) -> bool:
    """A saved, fully trained probe: weights, tokenizer, integrity record and the training summary written last."""
    path = Path(path)
    return (path / "train.json").exists() and (path / "config.json").exists() and (path / "tokenizer.json").exists()


def checkpoint_problem(path, fingerprint: dict | None = None) -> tuple[str, str] | None:
    """None when the checkpoint at `path` is intact (and was trained with `fingerprint`, when given); else
    ("damaged", line) when a file is missing, cut, bit-flipped or not safetensors, or ("settings", line) naming what
    differs between the settings it was trained with and `fingerprint`."""
    path = Path(path)
    try:
        record = read_json(path / INTEGRITY)
    except (OSError, ValueError):
        return "damaged", f"{path / INTEGRITY} is missing or unreadable, so the weights cannot be verified"
    files = record.get("files") or {}
    if not files:
        return "damaged", f"{path / INTEGRITY} lists no safetensors weights"
    pickles = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt"))
    if pickles:
        return "damaged", f"{path} holds pickle files ({', '.join(pickles)}); only safetensors weights are loaded"
    for name, want in sorted(files.items()):
        problem = _file_problem(path / name, want)
        if problem:
            return "damaged", problem
    if fingerprint is not None:
        diff = differences(record.get("fingerprint") or {}, fingerprint)
        if diff:
            return "settings", f"{path} was trained with other settings ({'; '.join(diff)})"
    return None


def seal_checkpoint(path, summary: dict, fingerprint: dict | None) -> None:
    """integrity.json (the weights' sizes and hashes, the settings' fingerprint), then train.json, written last,
    which makes `is_checkpoint` true."""
    path = Path(path)
    try:  # the hashes taken when the weights were saved (a grid's run, sealed later), else now
        files = read_json(path / INTEGRITY)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        files = {p.name: file_record(p) for p in sorted(path.glob("*.safetensors"))}
    write_json(path / INTEGRITY, {"fingerprint": fingerprint or {}, "files": files})
    write_json(path / "train.json", summary)  # last: marks the checkpoint complete


def save_checkpoint(model, tokenizer, path, summary: dict | None, fingerprint: dict | None = None) -> None:
    """Weights (safetensors) and tokenizer into `path`; then, with a summary, `seal_checkpoint`. Without a summary
    the folder is an unfinished checkpoint (a learning-rate grid's best run)."""
    path = Path(path)
    (path / INTEGRITY).unlink(missing_ok=True)  # an earlier save's record must not vouch for these weights
    model.save_pretrained(path)  # safetensors: transformers 5 writes nothing else
    write_generate_shim(model, path)  # an all-linear probe stays generatable by transformers and `lm_eval --model hf`
    tokenizer.save_pretrained(path)
    files = {p.name: file_record(p) for p in sorted(path.glob("*.safetensors"))}
    write_json(path / INTEGRITY, {"fingerprint": fingerprint or {}, "files": files})
    if summary is not None:
        seal_checkpoint(path, summary, fingerprint)


def load_checkpoint(path):
    """The model saved at `path`, from its safetensors weights only (never a pickle)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)
