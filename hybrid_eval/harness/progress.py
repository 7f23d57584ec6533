"""Progress bars for training and evaluation: tqdm bars that stay hidden under CI and when stderr is not a
terminal (tqdm's disable=None), so logs of batch jobs carry no bar redraws."""
from __future__ import annotations

import os

from tqdm.auto import tqdm


def quiet() -> bool:
    """No progress bars under CI (CI=true or 1) even when a terminal is attached; tqdm's disable=None
    already hides them when stderr is not a terminal."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def progress(total: int, desc: str):
    return tqdm(total=total, desc=desc, leave=False, disable=True if quiet() else None, dynamic_ncols=True)
