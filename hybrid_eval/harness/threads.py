"""How many CPU threads torch uses for a job: `threads=N`, or by default the cores that other processes leave free.

torch takes every core by default. On a machine where something else is already running, its threads and the other
process's take turns on the same cores and both slow down many times over (measured on the 2-core CPU: the default
run's LLLF trained at 0.2 steps/s beside another job, ~5 alone). So `threads: null` (the default) measures, over a
fraction of a second, how many cores the *other* processes keep busy (/proc/stat minus this process's own time, so a
sweep's earlier jobs in this process do not count) and takes what they leave of torch's own default (its physical
cores), at least one, saying so when that is fewer. Thread count can change float summation order: results.json records the one used.
"""
from __future__ import annotations

import logging
import os
import time

import torch

from hybrid_eval.harness.errors import ConfigError

log = logging.getLogger(__name__)
SAMPLE_S = 0.3
TORCH_DEFAULT = torch.get_num_threads()  # torch's own choice (its physical cores), read before any job changes it


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _busy_jiffies() -> int | None:
    """All CPUs' non-idle time so far (/proc/stat, in clock ticks), or None where there is no /proc."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle


def _own_jiffies() -> int:
    t = os.times()
    return round((t.user + t.system) * os.sysconf("SC_CLK_TCK"))


def others_busy_cores(seconds: float = SAMPLE_S) -> float | None:
    """Cores kept busy by other processes over `seconds` (this process's own CPU time left out); None if unknown."""
    start, own = _busy_jiffies(), _own_jiffies()
    if start is None:
        return None
    t0 = time.monotonic()
    time.sleep(seconds)
    end, own_end = _busy_jiffies(), _own_jiffies()
    ticks = os.sysconf("SC_CLK_TCK") * (time.monotonic() - t0)
    return max(0.0, ((end - start) - (own_end - own)) / ticks)


def choose_threads(setting) -> int:
    """torch's thread count for `threads=setting`: a positive integer as given; null: the free cores (see above)."""
    if setting is not None:
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ConfigError(f"threads={setting!r}; accepted: null (the cores other processes leave free) or an "
                              "integer >= 1")
        return setting
    cores = TORCH_DEFAULT
    busy = others_busy_cores()
    if busy is None:
        return cores
    free = max(1, min(cores, round(cores - busy)))
    if free < cores:
        log.warning("the machine is busy: other processes keep %.1f of %d cores busy, so torch uses %d thread%s "
                    "(more would make both wait on each other; set threads=N to choose)", busy, cores, free,
                    "" if free == 1 else "s")
    return free
