"""Imports every built-in family module so that each registers itself."""
from models import qwen3_next  # noqa: F401
