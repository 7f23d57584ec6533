"""An on-disk cache of an endpoint's replies, keyed by (endpoint, model, request), so an interrupted run resumes
without re-asking and a rerun costs nothing (docs/endpoints.md).

One JSON-lines file per (base URL, model name) under the cache directory; each line is {"key", "reply"}, appended
and flushed as soon as a reply arrives, so a killed run keeps every reply it had. A line cut short by a kill is
skipped when the file is read back. Only accepted replies are stored (a rejected or failed request is asked again).
The API key is never part of a key or a line.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path


def request_key(base_url: str, model: str, body: dict) -> str:
    """sha256 of the endpoint, the model and the request body (canonical JSON)."""
    text = json.dumps({"endpoint": base_url.rstrip("/"), "model": model, "request": body}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    def __init__(self, directory: str | Path, base_url: str, model: str):
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = hashlib.sha256(f"{base_url.rstrip('/')}\n{model}".encode()).hexdigest()[:16]
        self.path = self.directory / f"{tag}.jsonl"
        self._lock = threading.Lock()
        self._replies: dict[str, dict] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                    self._replies[row["key"]] = row["reply"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a kill mid-write
        self._file = self.path.open("a")

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self._replies.get(key)

    def put(self, key: str, reply: dict) -> None:
        with self._lock:
            if key in self._replies:
                return
            self._replies[key] = reply
            self._file.write(json.dumps({"key": key, "reply": reply}, separators=(",", ":")) + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
