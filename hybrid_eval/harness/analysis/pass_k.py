"""pass^k (tau-bench, Yao et al. 2024) and pass@k (Chen et al. 2021) over repeated samples of episodes.

For an episode sampled n times with c successes, the unbiased estimators are
    pass^k = C(c, k) / C(n, k)          all k of k i.i.d. samples succeed (reliability)
    pass@k = 1 - C(n - c, k) / C(n, k)  at least one of k samples succeeds
and the reported number is their mean over episodes.
"""
from __future__ import annotations

from math import comb


def _counts(successes_per_episode: list[list[bool]], k: int) -> list[tuple[int, int]]:
    if not successes_per_episode:
        raise ValueError("pass^k needs at least one episode")
    if k < 1:
        raise ValueError(f"k={k}; accepted: k >= 1")
    out = []
    for j, runs in enumerate(successes_per_episode):
        if len(runs) < k:
            raise ValueError(f"episode {j} has {len(runs)} samples; k={k} needs at least k samples per episode")
        out.append((len(runs), sum(bool(r) for r in runs)))
    return out


def pass_hat_k(successes_per_episode: list[list[bool]], k: int) -> float:
    """Mean over episodes of C(c, k) / C(n, k): the chance that k i.i.d. samples all succeed."""
    counts = _counts(successes_per_episode, k)
    return sum(comb(c, k) / comb(n, k) for n, c in counts) / len(counts)


def pass_at_k(successes_per_episode: list[list[bool]], k: int) -> float:
    """Mean over episodes of 1 - C(n - c, k) / C(n, k): the chance that one of k samples succeeds."""
    counts = _counts(successes_per_episode, k)
    return sum(1 - comb(n - c, k) / comb(n, k) for n, c in counts) / len(counts)
