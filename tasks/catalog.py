"""Imports every built-in task module so that each registers itself."""
from tasks.long_context import mqar  # noqa: F401
from tasks.multi_turn import fact_recall  # noqa: F401
from tasks.short import one_fact_qa  # noqa: F401
