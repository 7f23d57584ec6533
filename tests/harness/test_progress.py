"""Progress bars: shown on a terminal, hidden when stderr is not one (tqdm's disable=None) and under CI."""
import io
import sys

import pytest

from hybrid_eval.harness.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("ci,tty,shown", [(None, True, True), ("true", True, False), ("1", True, False),
                                           (None, False, False), ("false", True, True)])
def test_bars_are_quiet_under_ci(monkeypatch, ci, tty, shown):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(sys, "stderr", Terminal() if tty else io.StringIO())
    bar = progress(10, "train")
    hidden = bool(bar.disable)  # read before close(), which sets it
    bar.update(3)
    bar.close()
    assert hidden is not shown
    assert ("train" in sys.stderr.getvalue()) is shown
