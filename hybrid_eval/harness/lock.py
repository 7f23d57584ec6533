"""A directory lock, so two processes never run the same sweep or job directory at once (README "Resuming and
integrity").

The lock is a file `.hybrid-eval.lock` created with O_EXCL holding the owner's pid, host and start time; the owner
touches it every HEARTBEAT_S seconds while it runs. A second process finds it and stops with one line naming the
holder (LockHeld, exit 2). A lock is stale, and taken over with a warning, when its process is gone: on this host,
its pid no longer runs (a `kill -9`); on another host (a cluster job that was killed and requeued elsewhere), its
heartbeat stopped more than STALE_S seconds ago. The lock is released at the end, or at the owner's exit.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from hybrid_eval.harness.errors import ConfigError

log = logging.getLogger(__name__)
LOCK = ".hybrid-eval.lock"
HEARTBEAT_S = 60.0
STALE_S = 600.0  # another host's lock without a heartbeat for this long is stale
_beats: dict[Path, threading.Event] = {}  # lock file -> the event that stops its heartbeat


class LockHeld(ConfigError):
    """Another live process holds the directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _mine(holder: dict | None) -> bool:
    return bool(holder) and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()


def _stale(path: Path, holder: dict, host: str) -> bool:
    if holder.get("host") == host:
        return isinstance(holder.get("pid"), int) and not _alive(holder["pid"])
    try:
        return time.time() - path.stat().st_mtime > STALE_S
    except OSError:
        return False


def _heartbeat(path: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            os.utime(path)
        except OSError:
            return


def acquire(directory) -> Path | None:
    """Lock `directory` (created if needed) for this process; returns the lock file, or None when this process
    already holds it. LockHeld when a live process holds it."""
    path = Path(directory) / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    for _ in range(5):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if _mine(holder):
                return None
            if holder is None:  # being written right now, or an empty file left by a kill between create and write
                time.sleep(0.2)
                if _read(path) is None and path.exists() and time.time() - path.stat().st_mtime > 5:
                    log.warning("%s is empty (a process died while taking it); taking it over", path)
                    path.unlink(missing_ok=True)
                continue
            if _stale(path, holder, me["host"]):
                log.warning("%s: stale lock of pid %s on %s (started %s) that no longer runs; taking it over", path,
                            holder["pid"], holder.get("host"), holder.get("started"))
                if _read(path) == holder:
                    path.unlink(missing_ok=True)
                continue
            raise LockHeld(f"{Path(directory)} is in use by pid {holder.get('pid')} on {holder.get('host')} since "
                           f"{holder.get('started')} (lock {path}); accepted: wait for it to finish, or another "
                           "output directory") from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        atexit.register(release, path)
        _beats[path] = stop = threading.Event()
        threading.Thread(target=_heartbeat, args=(path, stop), daemon=True, name="hybrid-eval-lock").start()
        return path
    raise LockHeld(f"{path} could not be taken (it keeps changing); accepted: one process per directory")


def release(path: Path | None) -> None:
    """Remove the lock file if this process holds it."""
    if path is None:
        return
    stop = _beats.pop(Path(path), None)
    if stop is not None:
        stop.set()
    if _mine(_read(Path(path))):
        Path(path).unlink(missing_ok=True)


@contextmanager
def held(directory):
    path = acquire(directory)
    try:
        yield
    finally:
        release(path)
