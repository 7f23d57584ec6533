"""`hybrid-eval-report SWEEP --wandb-relog offline`: a sweep run with logger=none becomes W&B runs afterwards, one per
job (config, loss curve, scores, results artifact) and the report run, read back from disk as `wandb sync` would."""
import pytest
from tests.harness.fake_sweep import paired, task, write_job
from tests.harness.wandb_records import md5_b64, read_run, table

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.report import markdown as report, relog


def sweep(tmp_path):
    b, v = paired(40, 0.9, 0.3)
    curves = {"F": [[10, 4.0], [20, 2.5], [30, 1.25]], "L": [[10, 4.5], [20, 3.0], [30, 2.0]]}
    for pattern, scores in (("F", b), ("L", v)):
        d = write_job(tmp_path, pattern, 0, {"fc2": task("fact_chain", "reasoning", scores, hops=2)},
                      loss_curve=curves[pattern])
        (d / ".hydra" / "config.yaml").write_text(f"model:\n  pattern: {pattern}\nlogger: null\nseed: 0\n")
    return curves, b, v


def test_every_job_and_the_report_become_runs(tmp_path, capsys):
    curves, b, v = sweep(tmp_path)  # no multirun.yaml, no logger: as a logger=none sweep's files would be
    assert report.main([str(tmp_path), "--wandb-relog", "offline"]) == 0
    assert "2 job runs and the report run" in capsys.readouterr().out
    group = "/".join(tmp_path.parts[-2:])
    for pattern, scores in (("F", b), ("L", v)):
        job_dir = tmp_path / f"model.pattern={pattern},seed=0"
        (run_dir,) = (job_dir / "wandb").glob("offline-run-*")
        run = read_run(run_dir)
        assert run["run"]["name"] == f"qwen3_next:{pattern}:tiny:seed0" and run["run"]["group"] == group
        assert run["run"]["job_type"] == pattern
        assert {f"pattern:{pattern}", "seed:0", "relogged"} <= set(run["run"]["tags"])
        assert run["config"]["model"] == {"pattern": pattern} and run["config"]["relogged_from"] == str(job_dir)
        points = [(h["train/step"], h["train/loss"]) for h in run["history"] if "train/loss" in h]
        assert points == [tuple(p) for p in curves[pattern]]
        assert run["summary"]["eval/fc2"] == pytest.approx(scores.mean())
        assert table(run_dir, run["summary"], "eval/tasks")["data"][0][0] == "fc2"
        (art,) = [a for a in run["artifacts"] if a["type"] == "results"]
        assert art["entries"]["results.json"]["digest"] == md5_b64(job_dir / "results.json")
    (report_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    rep = read_run(report_dir)
    assert rep["run"]["job_type"] == "report" and rep["run"]["group"] == group
    gap = rep["summary"]["gap/qwen3_next:L:tiny/reasoning"]
    assert gap == pytest.approx(b.mean() - v.mean())


def test_a_second_relog_replaces_the_offline_runs(tmp_path):
    sweep(tmp_path)
    _, gaps, figs = report.build(tmp_path)
    first = relog.relog(tmp_path, gaps, figs, "offline")
    second = relog.relog(tmp_path, gaps, figs, "offline")
    assert len(second) == 3 and [p.name.rsplit("-", 1)[1] for p in first] == [p.name.rsplit("-", 1)[1] for p in second]
    assert all(len(list(p.parent.glob("offline-run-*"))) == 1 for p in second)


def test_a_bad_mode_is_refused(tmp_path, capsys):
    sweep(tmp_path)
    with pytest.raises(ConfigError, match="accepted: offline, online"):
        relog.relog(tmp_path, {}, {}, "disabled")
    assert report.main([str(tmp_path), "--wandb-relog", "upload"]) == 2
    assert capsys.readouterr().err == "hybrid-eval-report: error: --wandb-relog 'upload'; accepted: offline, online\n"
    assert not list(tmp_path.rglob("offline-run-*"))
