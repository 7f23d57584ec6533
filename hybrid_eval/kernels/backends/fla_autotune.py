"""How many Triton configurations fla's kernels try: ``kernels.autotune`` = ``fast`` (default) or ``full``.

fla decorates each kernel with ``triton.autotune`` over 6 to 48 configurations (warps x stages x block sizes), and
Triton compiles every one of them the first time a kernel meets a new autotune key. For the chunked KDA forward and
backward that is about 300 compilations: on an H100 with 16 cores, a cold start of one ``base`` job's linear layers
took more than five minutes before its first step (reports/minimax-gap/README.md), longer than the training. Our
probes are small (~30M parameters): their steps are bound by kernel launches, not by the kernels' arithmetic, so
the best of 48 configurations buys little.

``fast`` keeps at most :data:`KEEP` configurations per fla kernel: the one nearest to a middle setting (4 warps,
2-3 stages, blocks of 64) and the one nearest to a small setting (2 warps, fewest stages, smallest blocks), which
still compiles where the first would need too much shared memory. Triton then benchmarks those two and keeps the
faster. ``full`` leaves fla's lists alone (what fla does by itself). Either way fla caches its choice on disk
(``TRITON_CACHE_DIR``, fla's ``FLA_CACHE_RESULTS``), so the cost is paid once per machine and shape.

The trim is applied to every fla module loaded so far, each time :func:`apply` is called (the fla backend calls it
before each kernel call; while no module was imported since, it costs one length comparison).
"""
from __future__ import annotations

import math
import sys

MODES = ("fast", "full")
KEEP = 2
_state = {"mode": "fast", "seen": 0}  # seen: len(sys.modules) at the last walk
_original: dict[int, list] = {}  # id(autotuner) -> fla's own configuration list (restored by mode "full")


def set_mode(mode: str) -> None:
    """Choose ``fast`` or ``full`` for this process; takes effect for kernels already loaded and later ones."""
    if mode not in MODES:
        raise ValueError(f"kernels.autotune={mode!r}; accepted: {', '.join(MODES)}")
    _state["mode"] = mode
    _state["seen"] = 0  # walk the loaded fla modules again under the new mode


def _score(config, warps: int, stages: int, block: int) -> float:
    """Distance of one triton.Config from a target setting (log2 steps; block sizes are the config's B* kwargs)."""
    blocks = [v for k, v in config.kwargs.items() if k.startswith("B") and isinstance(v, int) and v > 0]
    distance = abs(math.log2(max(config.num_warps, 1) / warps)) + abs((config.num_stages or 1) - stages)
    return distance + sum(abs(math.log2(b / block)) for b in blocks)


def choose(configs: list, keep: int = KEEP) -> list:
    """The configurations ``fast`` keeps of ``configs``, in their original order (at most ``keep``)."""
    if len(configs) <= keep:
        return list(configs)
    middle = min(configs, key=lambda c: _score(c, 4, 2, 64))
    small = min(configs, key=lambda c: _score(c, 2, 1, 16))
    picked = [middle] if small is middle else [middle, small]
    return [c for c in configs if any(c is p for p in picked)][:keep]


def autotuners(obj):
    """The triton Autotuner objects behind one module attribute (through heuristics and other wrappers' ``.fn``);
    none without Triton."""
    try:
        from triton.runtime.autotuner import Autotuner
    except ImportError:
        return []
    found, depth = [], 0
    while obj is not None and depth < 4:
        if isinstance(obj, Autotuner):
            found.append(obj)
        obj = getattr(obj, "fn", None) if type(obj).__module__.startswith(("triton", "fla")) else None
        depth += 1
    return found


def apply() -> int:
    """Trim (``fast``) or restore (``full``) the configurations of every fla kernel loaded; returns how many changed.
    Cheap when no fla module was loaded since the last call."""
    if len(sys.modules) == _state["seen"]:  # nothing imported since the last call (the common case: one comparison)
        return 0
    _state["seen"] = len(sys.modules)
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("fla.") and m is not None]
    changed = 0
    for module in modules:
        for value in list(vars(module).values()):
            for tuner in autotuners(value):
                original = _original.setdefault(id(tuner), list(tuner.configs))
                wanted = choose(original) if _state["mode"] == "fast" else original
                if len(wanted) != len(tuner.configs):
                    tuner.configs = wanted
                    changed += 1
    return changed
