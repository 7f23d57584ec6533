"""threads=null takes the cores other processes leave free (hybrid_eval/harness/threads.py), measured with a real
busy process beside the test; threads=N is taken as given, anything else is one line."""
import logging
import subprocess
import sys

import pytest

from hybrid_eval.harness import threads
from hybrid_eval.harness.errors import ConfigError


@pytest.fixture
def spinner():
    """Another process that keeps one core busy."""
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield p
    finally:
        p.kill()
        p.wait()


@pytest.fixture
def quiet_level():
    """What other processes keep busy before the test's own spinner starts (nothing much on CI)."""
    return threads.others_busy_cores(0.5)


def test_a_busy_core_is_measured_and_left_to_its_process(quiet_level, spinner, caplog):
    busy = threads.others_busy_cores(0.5)
    assert 0.6 < busy - quiet_level < 1.4 or busy > threads.usable_cores() - 0.4  # the spinner: one more core busy
    with caplog.at_level(logging.WARNING, logger="hybrid_eval.harness.threads"):
        n = threads.choose_threads(None)
    expected = max(1, min(threads.TORCH_DEFAULT, round(threads.TORCH_DEFAULT - busy)))
    assert abs(n - expected) <= 1 and n <= threads.TORCH_DEFAULT
    if n < threads.TORCH_DEFAULT:
        assert caplog.records and caplog.records[0].getMessage().startswith("the machine is busy: other processes keep")


def test_this_process_own_work_is_not_counted_as_busy(quiet_level):
    """A sweep runs its jobs in one process: the previous job's load must not shrink the next job's threads."""
    import threading
    import time

    stop = time.monotonic() + 0.6
    worker = threading.Thread(target=lambda: [None for _ in iter(lambda: time.monotonic() < stop, False)])
    worker.start()
    busy = threads.others_busy_cores(0.5)
    worker.join()
    assert busy < quiet_level + 0.5  # this process kept a core busy meanwhile, and it is not counted


@pytest.mark.parametrize("value", [0, -1, "abc", 1.5, True])
def test_a_bad_setting_is_one_line(value):
    with pytest.raises(ConfigError, match=r"threads=.*; accepted: null \(the cores other processes leave free\) or an integer >= 1"):
        threads.choose_threads(value)


def test_an_explicit_count_is_taken_as_given():
    assert threads.choose_threads(3) == 3
