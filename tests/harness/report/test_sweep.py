"""The multirun callback: a real local sweep over two training seeds aggregated into gaps.json, report.md,
plots and a W&B report run (slow), and the interim report after a failed job (fast)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from tests.harness.fake_sweep import paired, task, write_job
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from tests.harness.wandb_records import md5_b64, read_run, table

from hybrid_eval.harness.analysis.learned import unlearned_reason
from hybrid_eval.harness.report import charts, markdown as report
from hybrid_eval.harness.report.callback import GapReport
from tests.conftest import ROOT

# no validation split: 3-step probes would be flagged did_not_train (hybrid_eval/harness/train/protocol.py) and get no gaps,
# and this test is about aggregating gaps over seeds
FAST = ["model.size=tiny", "train.max_steps=3", "train.log_every=1", "train.batch_size=4", "train.n_examples=40",
        "train.n_validation=0", "eval.n_test=6", "eval.max_new_tokens=4"]
SUITE = ("suite.tasks=[{name: one_fact_qa, alias: ofq1, knobs: {n_facts: 1}}, "
         "{name: one_fact_qa, alias: ofq2, knobs: {n_facts: 2}}, {name: fact_recall}]")


@pytest.fixture(scope="module")
def seed_sweep(tmp_path_factory):
    sweep = tmp_path_factory.mktemp("seeds") / "sweep"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", "CI": "true"}
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", *FAST, "model.pattern=F,L", "seed=0,1", SUITE,
                          f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=${hydra.job.num}"],  # suite overrides make long dir names
                         capture_output=True, text=True, cwd=sweep.parent, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    return sweep, out


def gap_from_samples(sweep, base_dir, var_dir, tasks):
    """baseline − variant, recomputed from the two jobs' samples.jsonl: mean over `tasks` of the task means."""
    def means(d):
        rows = [json.loads(line) for line in (sweep / d / "samples.jsonl").read_text().splitlines()]
        return {t: np.mean([r["score"] for r in rows if r["task"] == t]) for t in tasks}
    b, v = means(base_dir), means(var_dir)
    return float(np.mean([b[t] - v[t] for t in tasks]))


@pytest.mark.slow
def test_two_seed_multirun_aggregates_gaps_over_seeds(seed_sweep):
    sweep, out = seed_sweep
    assert f"report: {sweep.resolve() / 'report.md'}" in out.stdout
    g = json.loads((sweep / "gaps.json").read_text())
    assert set(g["variants"]) == {"qwen3_next:L:tiny:seed0", "qwen3_next:L:tiny:seed1"} and g["missing"] == []
    s = g["seeds"]["qwen3_next:L:tiny"]
    assert s["seeds"] == s["gap_seeds"] == [0, 1]
    dirs = {(sc["model"]["pattern"], sc["seed"]): sc["dir"] for sc in g["scores"].values()}
    assert set(dirs) == {("F", 0), ("F", 1), ("L", 0), ("L", 1)}
    # every task of every L job has either a gap equal to the one its samples give, or none because its same-seed
    # baseline did not learn the task (3-step probes: F answers nothing), with that baseline's numbers as the reason
    for seed in (0, 1):
        v = g["variants"][f"qwen3_next:L:tiny:seed{seed}"]
        base = g["scores"][f"qwen3_next:F:tiny:seed{seed}"]["tasks"]
        for t in ("ofq1", "ofq2", "fact_recall"):
            why = unlearned_reason(base[t])
            if why:
                assert v["undecided"]["tasks"][t] == f"baseline `qwen3_next:F:tiny:seed{seed}` {why}" and t not in v["tasks"]
            else:
                gap = gap_from_samples(sweep, dirs[("F", seed)], dirs[("L", seed)], [t])
                assert v["tasks"][t]["gap"] == pytest.approx(gap) and t not in v["undecided"]["tasks"]
    assert g["variants"]["qwen3_next:L:tiny:seed0"]["undecided"]["tasks"]  # at 3 steps F learns nothing: withheld
    for level in ("tasks", "categories"):  # aggregated over seeds: whatever both seeds report
        for k, agg in s["gaps"][level].items():
            assert agg["mean"] == pytest.approx(np.mean(list(agg["per_seed"].values())))
    assert s["minimax"]["per_seed"] == {str(seed): g["variants"][f"qwen3_next:L:tiny:seed{seed}"]["minimax"]["verdict"]
                                        for seed in (0, 1)}
    d = g["difficulty"]["one_fact_qa"]
    assert d["knob"] == "n_facts" and d["values"] == [1, 2] and d["aliases"] == ["ofq1", "ofq2"]
    md = (sweep / "report.md").read_text()
    for section in ("## Gaps over training seeds", "## MiniMax check", "## Accuracy vs difficulty", "## Training"):
        assert section in md
    for png in ("gap_heatmap.png", "training_curves.png", "difficulty_one_fact_qa.png"):
        data = (sweep / "plots" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1024


@pytest.mark.slow
def test_jobs_and_the_report_run_share_the_sweep_group(seed_sweep):
    sweep, _ = seed_sweep
    (report_run,) = (sweep / "wandb").glob("offline-run-*")
    r = read_run(report_run)
    group = "/".join(sweep.parts[-2:])  # <tmp>/sweep: the sweep directory's last two parts
    assert r["run"]["job_type"] == "report" and r["run"]["group"] == group
    # the sweep as a team sees it: custom charts with error bars and bands, the report artifact, provenance
    assert r["config"]["_wandb/visualize/charts/gap_ci"]["panel_config"]["panelDefId"] == charts.PRESETS["gap"]
    band = r["config"]["_wandb/visualize/charts/difficulty/one_fact_qa"]["panel_config"]
    assert band["panelDefId"] == charts.PRESETS["difficulty"] and band["stringSettings"]["x_title"] == "n_facts"
    line = table(report_run, r["summary"], "charts/difficulty/one_fact_qa_table")
    d = json.loads((sweep / "gaps.json").read_text())["difficulty"]["one_fact_qa"]
    assert {(row[0], row[1]): row[2:] for row in line["data"]} == {
        (v, x): [pytest.approx(m), pytest.approx(lo), pytest.approx(hi)] for v, s in d["scores"].items()
        for x, m, lo, hi in zip(d["values"], s["mean"], s["lo"], s["hi"]) if m is not None}
    (art,) = [a for a in r["artifacts"] if a["type"] == "report"]
    assert art["entries"]["gaps.json"]["digest"] == md5_b64(sweep / "gaps.json")
    assert art["entries"]["report.md"]["digest"] == md5_b64(sweep / "report.md")
    assert "plots/gap_heatmap.png" in art["entries"]
    assert r["config"]["provenance"]["packages"]["hybrid-eval"] and "suite:ofq1+ofq2+fact_recall" in r["run"]["tags"]
    g = json.loads((sweep / "gaps.json").read_text())
    assert {k for k in r["summary"] if k.startswith("gap_mean/")} == {
        f"gap_mean/qwen3_next:L:tiny/{c}" for c in g["seeds"]["qwen3_next:L:tiny"]["gaps"]["categories"]}
    for job in sorted(d for d in sweep.iterdir() if (d / "results.json").exists()):
        (run_dir,) = (job / "wandb").glob("offline-run-*")
        res = json.loads((job / "results.json").read_text())
        jr = read_run(run_dir)
        assert jr["run"]["group"] == group and jr["run"]["job_type"] == res["model"]["pattern"]
        assert jr["summary"]["eval/ofq2"] == pytest.approx(res["tasks"]["ofq2"]["score"])
        assert res["suite"] == "ofq1+ofq2+fact_recall"  # an inline suite is not called `smoke`
        assert {f"family:qwen3_next", f"pattern:{res['model']['pattern']}", "size:tiny", "suite:ofq1+ofq2+fact_recall",
                f"seed:{res['seed']}"} <= set(jr["run"]["tags"])
        assert jr["config"]["provenance"] == res["provenance"] and res["provenance"]["packages"]["torch"]
        assert jr["metrics"]["train/*"] == "train/step"
        (art,) = [a for a in jr["artifacts"] if a["type"] == "results"]
        assert set(art["entries"]) == {"results.json", "samples.jsonl"}  # no checkpoint by default
        assert art["entries"]["results.json"]["digest"] == md5_b64(job / "results.json")


@pytest.mark.slow
def test_a_lost_job_is_named_and_the_rest_aggregated(seed_sweep, tmp_path):
    sweep, _ = seed_sweep
    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy, ignore=shutil.ignore_patterns("checkpoint", "wandb"))
    lost = next(d for d in copy.iterdir() if d.is_dir() and "model.pattern=L" in (d / ".hydra" / "overrides.yaml").read_text()
                and "seed=1" in (d / ".hydra" / "overrides.yaml").read_text())
    (lost / "results.json").unlink()
    assert report.main([str(copy)]) == 0
    g = json.loads((copy / "gaps.json").read_text())
    assert g["missing"] == ["model.pattern=L seed=1"] and g["incomplete"] == [lost.name]
    assert set(g["variants"]) == {"qwen3_next:L:tiny:seed0"} and "gaps" not in g["seeds"].get("qwen3_next:L:tiny", {})
    assert "- `model.pattern=L seed=1` (no complete results)" in (copy / "report.md").read_text()


def test_after_a_failed_job_the_callback_reports_what_finished(tmp_path, capsys):
    b, v = paired(30, 0.9, 0.1)
    write_job(tmp_path, "F", 0, {"mqar": task("mqar", "long_context", b)})
    write_job(tmp_path, "L", 0, {"mqar": task("mqar", "long_context", v)})
    cfg = OmegaConf.create({"hydra": {"mode": "RunMode.MULTIRUN", "sweep": {"dir": str(tmp_path)}}})
    cb = GapReport()
    cb.on_job_end(cfg, JobReturn(status=JobStatus.COMPLETED))
    assert not (tmp_path / "report.md").exists()  # nothing failed: the report waits for the sweep's end
    cb.on_job_end(cfg, JobReturn(status=JobStatus.FAILED))
    assert "report of the finished jobs so far" in capsys.readouterr().out
    g = json.loads((tmp_path / "gaps.json").read_text())
    assert g["variants"]["qwen3_next:L:tiny"]["tasks"]["mqar"]["gap"] == pytest.approx(0.1)
    single = OmegaConf.create({"hydra": {"mode": "RunMode.RUN", "sweep": {"dir": str(tmp_path / "x")}}})
    GapReport().on_job_end(single, JobReturn(status=JobStatus.FAILED))  # a single run has no sweep report
    assert not (tmp_path / "x").exists()
