"""The benchmarks are scripts (benchmarks/*.py, run by path), not installed modules: their folder goes on sys.path."""
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
