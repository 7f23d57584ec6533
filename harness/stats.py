"""Accuracy intervals and paired gaps by bootstrap over examples (percentile intervals, fixed seed).

A category's score is the mean of its tasks' scores (each task weighs the same); its intervals resample
examples within each task (stratified), so a category interval reflects every task's sample size.
"""
from __future__ import annotations

import numpy as np

N_BOOT = 2000


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def stratified_bootstrap(groups: list[np.ndarray], n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """Bootstrap replicates of the mean over groups of the per-group mean (each group resampled on its own)."""
    rng = _rng(seed)
    reps = np.zeros(n_boot)
    for g in groups:
        g = np.asarray(g, dtype=float)
        idx = rng.integers(0, len(g), size=(n_boot, len(g)))
        reps += g[idx].mean(axis=1)
    return reps / len(groups)


def mean_ci(groups: list, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(estimate, lo, hi): the mean of group means and its percentile bootstrap interval."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        raise ValueError("mean_ci needs at least one non-empty group")
    est = float(np.mean([g.mean() for g in groups]))
    reps = stratified_bootstrap(groups, n_boot, seed)
    a = (1 - level) / 2
    return est, float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a))


def paired_gap(baseline: list, variant: list, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """gap = baseline - variant over paired groups of identical examples: (gap, lo, hi).

    `baseline` and `variant` are lists of per-task score arrays, aligned example by example.
    """
    diffs = []
    for b, v in zip(baseline, variant):
        b, v = np.asarray(b, dtype=float), np.asarray(v, dtype=float)
        if b.shape != v.shape:
            raise ValueError(f"paired_gap: {b.shape} baseline scores vs {v.shape} variant scores")
        diffs.append(b - v)
    return mean_ci(diffs, n_boot, seed)
