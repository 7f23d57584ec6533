"""The experiments are scripts (experiments/*.py, run by path), not installed modules: their folder goes on sys.path."""
import sys
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))
