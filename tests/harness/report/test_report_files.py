"""A sweep's report files (hybrid_eval/harness/report/markdown.py): gaps.json and report.md land together, so an
interrupted rebuild leaves the old pair, never a gaps.json newer than report.md; a rebuild is idempotent; a baseline
that is not a pattern of the sweep is refused. Constructed sweeps (tests/harness/fake_sweep.py)."""
import pytest

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.report import markdown as report
from tests.harness.fake_sweep import paired, task, write_job

pytestmark = pytest.mark.faults  # part of the fault suite (`pytest -m faults`)


@pytest.fixture
def sweep(tmp_path):
    b, v = paired(40, 0.9, 0.25)
    for pattern, scores in (("F", b), ("L", v)):
        write_job(tmp_path, pattern, 0, {"mqar": task("mqar", "long_context", scores, chance=1 / 64)})
    report.build(tmp_path)
    return tmp_path


def test_an_interrupted_rebuild_leaves_the_old_pair(sweep, monkeypatch):
    before = {name: (sweep / name).read_bytes() for name in ("gaps.json", "report.md")}

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # what a kill during rendering does to the files: stops before they are written

    monkeypatch.setattr(report, "render", killed)
    with pytest.raises(KeyboardInterrupt):
        report.build(sweep, "L")  # another baseline: a different gaps.json would have been written first
    assert {name: (sweep / name).read_bytes() for name in before} == before
    assert not [p for p in sweep.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_rebuild_is_idempotent(sweep):
    first = {name: (sweep / name).read_bytes() for name in ("gaps.json", "report.md")}
    report.build(sweep)
    assert {name: (sweep / name).read_bytes() for name in first} == first


def test_a_baseline_that_is_not_a_pattern_of_the_sweep_is_refused(sweep):
    with pytest.raises(ConfigError, match=r"^baseline 'X' is not a pattern of the jobs in .*; accepted: one of F, L$"):
        report.build(sweep, "X", strict=True)  # the user named it (hybrid-eval-report --baseline X)


def test_a_sweep_without_the_default_baseline_is_reported_without_gaps(tmp_path, caplog):
    """Released hybrids or presets without `F` (the default baseline): the jobs' scores are reported, with a warning,
    instead of the sweep failing after its jobs ran."""
    b, v = paired(40, 0.9, 0.25)
    for pattern, scores in (("LLLF", b), ("L", v)):
        write_job(tmp_path, pattern, 0, {"mqar": task("mqar", "long_context", scores, chance=1 / 64)})
    with caplog.at_level("WARNING"):
        path, gaps, _ = report.build(tmp_path)
    assert path.is_file() and set(gaps["scores"]) and "is not a pattern of the jobs" in caplog.text
