"""The built-in families. Importing a family's module registers it (`@register`); the order of the lines below is
the order tables, benchmarks and tests list the families in. Adding a family = its module + one line here."""
from hybrid_eval.models import qwen3_next  # noqa: F401
from hybrid_eval.models import kimi_linear  # noqa: F401
from hybrid_eval.models import minimax  # noqa: F401
from hybrid_eval.models import deepseek_v32  # noqa: F401
