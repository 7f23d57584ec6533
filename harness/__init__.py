"""hybrid-eval's run orchestration: the entry point, probe trainer, evaluator, gap statistics, reports, W&B."""
