"""Imports every built-in task module so that each registers itself."""
from hybrid_eval.tasks.long_context import mqar  # noqa: F401
from hybrid_eval.tasks.long_context import niah  # noqa: F401
from hybrid_eval.tasks.long_context import variable_tracking  # noqa: F401
from hybrid_eval.tasks.multi_turn import fact_recall  # noqa: F401
from hybrid_eval.tasks.multi_turn import knowledge_update  # noqa: F401
from hybrid_eval.tasks.multi_turn import mrcr  # noqa: F401
from hybrid_eval.tasks.multi_turn import slot_tracking  # noqa: F401
from hybrid_eval.tasks.multi_turn import tool_episode  # noqa: F401
from hybrid_eval.tasks.reasoning import arith_program  # noqa: F401
from hybrid_eval.tasks.reasoning import fact_chain  # noqa: F401
from hybrid_eval.tasks.reasoning import palindrome  # noqa: F401
from hybrid_eval.tasks.reasoning import parity  # noqa: F401
from hybrid_eval.tasks.reasoning import permutation  # noqa: F401
from hybrid_eval.tasks.reasoning import stack  # noqa: F401
from hybrid_eval.tasks.short import arith_step  # noqa: F401
from hybrid_eval.tasks.short import one_fact_qa  # noqa: F401
from hybrid_eval.tasks.short import short_copy  # noqa: F401
