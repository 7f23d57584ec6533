"""The directory lock (hybrid_eval/harness/lock.py): a live holder stops a second process with one line naming its
pid, host and start time; a holder that no longer runs (kill -9) is taken over with a warning; the lock goes with
its owner. Real processes: a `sleep` as the live holder, a finished one as the dead."""
import json
import os
import socket
import subprocess
import sys

import pytest

from hybrid_eval.harness import lock
from tests.conftest import ROOT

pytestmark = pytest.mark.faults  # part of the fault suite (`pytest -m faults`)


def _plant(directory, pid, host=None):
    directory.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-12-06 05:00:00 UTC"}
    (directory / lock.LOCK).write_text(json.dumps(holder))


def test_a_live_holder_stops_a_second_process(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        _plant(tmp_path, sleeper.pid)
        with pytest.raises(lock.LockHeld) as e:
            lock.acquire(tmp_path)
        assert str(e.value) == (f"{tmp_path} is in use by pid {sleeper.pid} on {socket.gethostname()} since "
                                f"2026-12-06 05:00:00 UTC (lock {tmp_path / lock.LOCK}); accepted: wait for it to "
                                "finish, or another output directory")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, caplog):
    gone = subprocess.Popen(["true"])
    gone.wait()
    _plant(tmp_path, gone.pid)
    with caplog.at_level("WARNING"):
        path = lock.acquire(tmp_path)
    assert f"stale lock of pid {gone.pid}" in caplog.text
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert lock.acquire(tmp_path) is None  # this process holds it already
    lock.release(path)
    assert not path.exists()


def test_a_lock_of_another_host_is_stale_only_when_its_heartbeat_stopped(tmp_path, monkeypatch):
    _plant(tmp_path, 1, host="elsewhere")  # its pid cannot be checked from here
    with pytest.raises(lock.LockHeld, match="in use by pid 1 on elsewhere"):
        lock.acquire(tmp_path)
    old = os.path.getmtime(tmp_path / lock.LOCK) - lock.STALE_S - 1  # no heartbeat since: the holder died there
    os.utime(tmp_path / lock.LOCK, (old, old))
    path = lock.acquire(tmp_path)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release(path)


def test_the_holder_keeps_its_lock_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "HEARTBEAT_S", 0.05)
    path = lock.acquire(tmp_path)
    try:
        old = os.path.getmtime(path) - 1000
        os.utime(path, (old, old))
        import time

        time.sleep(0.5)
        assert os.path.getmtime(path) > old + 900
    finally:
        lock.release(path)


def test_the_lock_goes_with_its_owner(tmp_path):
    code = f"from hybrid_eval.harness import lock; print(lock.acquire({str(tmp_path)!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and out.stdout.strip().endswith(lock.LOCK)
    assert not (tmp_path / lock.LOCK).exists()  # released at exit
