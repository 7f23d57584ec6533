"""Evaluation: every scored assistant turn generated and scored by its task (scoring.py); the same examples as
lm-eval tasks (lm_eval_export.py, lm_eval_bridge.py); lm-eval tasks run in the same job (lm_eval_run.py)."""
