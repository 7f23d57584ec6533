"""Accuracy intervals and paired gaps by bootstrap over examples (percentile intervals, fixed seed), and
the spread of a quantity over training seeds. (The "still improving" test of a loss curve is
harness/train/protocol.py's `still_improving`.)

A category's score is the mean of its tasks' scores (each task weighs the same); its intervals resample
examples within each task (stratified), so a category interval reflects every task's sample size.
Scores are per-example values in [0, 1] (0/1 for exact match, fractions for partial credit).
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

N_BOOT = 2000


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def stratified_bootstrap(groups: list[np.ndarray], n_boot: int = N_BOOT, seed=0) -> np.ndarray:
    """Bootstrap replicates (n_boot,) of the mean over groups of the per-group mean (each group resampled
    on its own). `seed` is an int or a numpy Generator (to draw several independent sets from one stream)."""
    rng = _rng(seed)
    reps = np.zeros(n_boot)
    for g in groups:
        g = np.asarray(g, dtype=float)
        idx = rng.integers(0, len(g), size=(n_boot, len(g)))
        reps += g[idx].mean(axis=1)
    return reps / len(groups)


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    a = (1 - level) / 2
    return float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a))


def mean_ci(groups: list, n_boot: int = N_BOOT, seed=0, level: float = 0.95) -> tuple[float, float, float]:
    """(estimate, lo, hi): the mean of group means and its percentile bootstrap interval."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        raise ValueError("mean_ci needs at least one non-empty group")
    est = float(np.mean([g.mean() for g in groups]))
    return (est, *_interval(stratified_bootstrap(groups, n_boot, seed), level))


def _paired_diffs(baseline: list, variant: list) -> list[np.ndarray]:
    if len(baseline) != len(variant):
        raise ValueError(f"paired_gap: {len(baseline)} baseline groups vs {len(variant)} variant groups")
    diffs = []
    for b, v in zip(baseline, variant):
        b, v = np.asarray(b, dtype=float), np.asarray(v, dtype=float)
        if b.shape != v.shape:
            raise ValueError(f"paired_gap: {b.shape} baseline scores vs {v.shape} variant scores")
        diffs.append(b - v)
    return diffs


def paired_gap(baseline: list, variant: list, n_boot: int = N_BOOT, seed=0) -> tuple[float, float, float]:
    """gap = baseline - variant over paired groups of identical examples: (gap, lo, hi).

    `baseline` and `variant` are lists of per-task score arrays, aligned example by example.
    """
    return mean_ci(_paired_diffs(baseline, variant), n_boot, seed)


def gap_difference(a: tuple[list, list], b: tuple[list, list], n_boot: int = N_BOOT, seed=0,
                   level: float = 0.95) -> tuple[float, float, float]:
    """(gap_a - gap_b, lo, hi) for two paired gaps on disjoint examples (e.g. reasoning vs short).

    `a` and `b` are (baseline groups, variant groups) as for `paired_gap`. The two gaps are resampled
    independently (their examples are disjoint) from one random stream, and the interval is the percentile
    interval of the difference of replicates.
    """
    rng = _rng(seed)
    da, db = _paired_diffs(*a), _paired_diffs(*b)
    est = float(np.mean([d.mean() for d in da]) - np.mean([d.mean() for d in db]))
    reps = stratified_bootstrap(da, n_boot, rng) - stratified_bootstrap(db, n_boot, rng)
    return (est, *_interval(reps, level))


def distinguishable(lo: float, hi: float) -> bool:
    """An interval is distinguishable from zero when it excludes 0."""
    return not (lo <= 0 <= hi)


def n_to_detect(effect: float = 0.10, alpha: float = 0.05, power: float = 0.80) -> int:
    """Examples per arm for a two-sided test at `alpha` to detect an accuracy difference of `effect` with
    probability `power`, in the worst case (accuracy 50%, unpaired): n = 2 (z_{1-a/2} + z_power)^2 p(1-p) / d^2.
    A 10-point gap needs 393 examples. Pairing only lowers the need, so this is conservative."""
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return int(np.ceil(2 * z * z * 0.25 / effect ** 2))


def seed_spread(values) -> dict:
    """Spread of one quantity over training seeds: mean, sample std (ddof=1; 0 for one seed), min, max, n."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        raise ValueError("seed_spread needs at least one value")
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "min": float(x.min()), "max": float(x.max()), "n": int(x.size)}

