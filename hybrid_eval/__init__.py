"""hybrid-eval: where do linear-attention and hybrid LLMs lose accuracy against full attention?

Every importable name of the project lives under this package (the repository's Layout section says why):

    hybrid_eval.kernels    linear-attention ops (gated delta rule, KDA, lightning, short conv) with backends
    hybrid_eval.models     model families (Qwen3-Next, Kimi Linear, MiniMax, DeepSeek-V3.2), probes, checkpoints
    hybrid_eval.tasks      the task API, registry and catalog (chat transcripts with difficulty knobs, scorers)
    hybrid_eval.harness    one run: train -> decode -> evaluate -> analysis (gaps) -> report, W&B
"""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def config_dir() -> Path:
    """The Hydra configs: conf/ at the top of a clone (or editable install), hybrid_eval/conf in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise SystemExit("hybrid-eval: error: cannot find the conf/ directory; reinstall the package")
