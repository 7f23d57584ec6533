"""Read an offline W&B run as W&B itself would on `wandb sync`: the records of its `run-*.wandb`
transaction log, and the files it wrote under `files/`.

wandb 0.31 writes, for an offline run `wandb/offline-run-<time>-<id>/`:
- `run-<id>.wandb`: the transaction log (LevelDB log format: a 7-byte header ":W&B", 0xBEE1, version 0,
  then 32 KiB blocks of records with a 7-byte header: CRC-32 of type byte + data, length, type
  FULL/FIRST/MIDDLE/LAST); each record is a `wandb.proto.wandb_internal_pb2.Record` (run, config,
  history, summary, files, ...). Summary and config live only here: no wandb-summary.json is written offline.
- artifacts (`run.log_artifact`) as `artifact` records whose manifest lists each file's path, md5 digest (base64)
  and local path; `define_metric` as `metric` records (name or glob, step metric).
- `files/media/table/<key>_<step>_<hash>.table.json` for every wandb.Table, `files/media/images/...png`
  for every wandb.Image, `files/output.log`, `files/requirements.txt`.
The Python datastore reader (`wandb.sdk.internal.datastore`) is gone in 0.31 (the Go core writes the log),
so this module parses the format itself and checks every checksum. `run.finish()` returns before the
log is flushed: readers wait for the `exit` record.
"""
from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path) -> list[pb.Record]:
    raw = Path(path).read_bytes()
    ident, magic, version = struct.unpack("<4sHB", raw[:HEADER])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), raw[:HEADER]
    out, pos, buf = [], HEADER, b""
    while pos + HEADER <= len(raw):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer
            pos += left
            continue
        crc, n, kind = struct.unpack("<IHB", raw[pos:pos + HEADER])
        if kind == 0 and n == 0:
            break
        if pos + HEADER + n > len(raw):  # the writer is still at work
            break
        data = raw[pos + HEADER:pos + HEADER + n]
        assert zlib.crc32(data, zlib.crc32(bytes([kind]))) == crc, f"bad checksum at byte {pos} of {path}"
        pos += HEADER + n
        if kind == FULL:
            chunks = [data]
        elif kind == FIRST:
            buf, chunks = data, []
        elif kind == MIDDLE:
            buf, chunks = buf + data, []
        else:
            chunks, buf = [buf + data], b""
        for c in chunks:
            r = pb.Record()
            r.ParseFromString(c)
            out.append(r)
    return out


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def finished_records(run_dir, timeout: float = 60.0) -> list[pb.Record]:
    """The records of a finished run. `run.finish()` returns before wandb-core has flushed the log (right
    after it the file may hold only its header), so wait for the run's `exit` record."""
    (log,) = Path(run_dir).glob("run-*.wandb")
    deadline = time.monotonic() + timeout
    while True:
        recs = records(log)
        if any(r.WhichOneof("record_type") == "exit" for r in recs):
            return recs
        if time.monotonic() > deadline:
            raise AssertionError(f"{log}: no exit record after {timeout:.0f} s ({len(recs)} records)")
        time.sleep(0.1)


def read_run(run_dir) -> dict:
    """{run: {id, group, job_type, name, project, tags}, config, summary (final values), history (rows),
    files (paths under files/), artifacts ([{name, type, metadata, entries: {path: {digest, size, local_path}}}]),
    metrics ({name or glob: step metric} from define_metric)} of one finished offline run folder."""
    run_dir = Path(run_dir)
    out = {"run": {}, "config": {}, "summary": {}, "history": [], "files": [], "artifacts": [], "metrics": {}}
    for r in finished_records(run_dir):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            out["run"] = {"id": r.run.run_id, "group": r.run.run_group, "job_type": r.run.job_type,
                          "name": r.run.display_name, "project": r.run.project, "tags": list(r.run.tags)}
            out["config"].update({_key(i): json.loads(i.value_json) for i in r.run.config.update})
        elif kind == "config":
            out["config"].update({_key(i): json.loads(i.value_json) for i in r.config.update})
        elif kind == "summary":
            out["summary"].update({_key(i): json.loads(i.value_json) for i in r.summary.update})
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in r.history.item})
        elif kind == "files":
            out["files"] += [f.path for f in r.files.files]
        elif kind == "artifact":
            a = r.artifact
            out["artifacts"].append({
                "name": a.name, "type": a.type, "metadata": json.loads(a.metadata or "{}"),
                "entries": {e.path: {"digest": e.digest, "size": e.size, "local_path": e.local_path}
                            for e in a.manifest.contents}})
        elif kind == "metric":
            out["metrics"][r.metric.name or r.metric.glob_name] = r.metric.step_metric
    return out


def table(run_dir, summary: dict, key: str) -> dict:
    """A logged wandb.Table as W&B stores it ({columns, data}), found through the run's summary."""
    path = summary.get(f"{key}/path") or summary[key]["path"]
    return json.loads((Path(run_dir) / "files" / path).read_text())


def md5_b64(path) -> str:
    """A file's digest as W&B artifact manifests write it: base64 of the md5."""
    import base64
    import hashlib

    return base64.b64encode(hashlib.md5(Path(path).read_bytes()).digest()).decode()
