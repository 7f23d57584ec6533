"""Imports every built-in family module so that each registers itself."""
from hybrid_eval.models import deepseek_v32, kimi_linear, minimax, qwen3_next  # noqa: F401
