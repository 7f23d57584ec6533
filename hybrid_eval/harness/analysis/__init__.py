"""From per-example records to conclusions: intervals and paired gaps (stats.py); a sweep directory's jobs, complete,
incomplete and missing (sweep_jobs.py); their names (variants.py) and baselines (baselines.py); the MiniMax check
(minimax.py); difficulty curves (difficulty.py); training budgets (budgets.py); gaps.json, which composes them
(gaps.py); pass^k over samples (pass_k.py)."""
