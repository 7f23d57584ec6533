"""From per-example records to conclusions: intervals and paired gaps (stats.py), gaps of a sweep's variants to
their baseline with the MiniMax check, difficulty curves and budgets (gaps.py), pass^k over samples (pass_k.py)."""
