"""W&B runs read back from disk as W&B would sync them: a job run (summary metrics, the task table, the
training curve) and the sweep's report run (gap table, bar and line charts, figures); the online fallback;
`logger=none`."""
import json
import logging

import numpy as np
import pytest
import wandb
from tests.harness.fake_sweep import paired, task, write_job, write_multirun_yaml
from hydra.utils import instantiate
from tests.harness.wandb_records import md5_b64, read_run, table

from hybrid_eval.harness.provenance import provenance
from hybrid_eval.harness.report import charts, markdown as report, tracking
from tests.conftest import compose_config


def job_results(tmp_path, did_not_train=None):
    b, v = paired(40, 0.9, 0.25)
    tasks = {"mqar": task("mqar", "long_context", v, chance=1 / 64, n_pairs=8),
             "one_fact_qa": task("one_fact_qa", "short", np.ones(10), chance=1 / 16)}
    d = write_job(tmp_path, "L", 0, tasks, did_not_train=did_not_train)
    return json.loads((d / "results.json").read_text())


def test_job_run_has_the_summary_metrics_and_the_task_table(tmp_path):
    res = job_results(tmp_path)
    t = tracking.WandbTracker(mode="offline", project="hybrid-eval", group=str(tmp_path.parent), job_dir=str(tmp_path),
                              run_name="qwen3_next:L:tiny:seed0", job_type="L", run_config={"seed": 0, "model": {"pattern": "L"}})
    for step, loss in res["train"]["loss_curve"]:
        t.log({"train/loss": loss, "train/lr": 1e-3}, step=step)
    t.results(res)
    t.finish()
    run_dir = t.run_dir
    assert run_dir.name.startswith("offline-run-") and run_dir.parent == tmp_path / "wandb"
    run = read_run(run_dir)
    assert run["run"]["group"] == "/".join(tmp_path.parent.parts[-2:]) and run["run"]["job_type"] == "L"
    assert run["config"]["seed"] == 0 and run["config"]["model"] == {"pattern": "L"}
    s = run["summary"]
    assert s["eval/mqar"] == pytest.approx(0.9 * 40 / 40 - 10 / 40, abs=0.1) and s["eval/mqar"] == res["tasks"]["mqar"]["score"]
    assert s["eval/one_fact_qa"] == 1.0 and s["category/short"] == 1.0
    assert s["params"] == 1001 and s["train/final_loss"] == pytest.approx(2.3) and s["train/steps"] == 100
    assert s["val/loss"] == pytest.approx(3.3) and s["train/epochs"] == 4.0  # memorising shows as val/loss >> final_loss
    assert s["train/still_improving"] is True and s["did_not_train"] is False
    assert [h["train/loss"] for h in run["history"] if "train/loss" in h] == pytest.approx([5.0 - 0.3 * i for i in range(10)])
    tab = table(run_dir, s, "eval/tasks")
    assert tab["columns"] == tracking.TASK_COLUMNS
    assert tab["data"][0][:4] == ["mqar", "mqar", "long_context", "n_pairs=8"]
    assert tab["data"][0][4] == pytest.approx(res["tasks"]["mqar"]["score"])


def test_a_job_that_did_not_train_is_tagged(tmp_path):
    t = tracking.WandbTracker(mode="offline", job_dir=str(tmp_path), run_name="x", job_type="L")
    t.results(job_results(tmp_path, did_not_train=True))
    t.finish()
    run = read_run(t.run_dir)
    assert run["summary"]["did_not_train"] is True and "did-not-train" in run["run"]["tags"]


def test_report_run_has_the_gap_table_charts_and_figures(tmp_path):
    short = np.ones(30)
    for seed in (0, 1):
        b, v = paired(60, 0.9, 0.2, seed)
        write_job(tmp_path, "F", seed, {"fc2": task("fact_chain", "reasoning", b, hops=2),
                                        "fc4": task("fact_chain", "reasoning", b, hops=4), "one_fact_qa": task("one_fact_qa", "short", short)})
        write_job(tmp_path, "L", seed, {"fc2": task("fact_chain", "reasoning", v, hops=2),
                                        "fc4": task("fact_chain", "reasoning", b, hops=4), "one_fact_qa": task("one_fact_qa", "short", short)},
                  did_not_train=seed == 1)
    write_multirun_yaml(tmp_path, "F,L", "0,1")
    _, gaps, figs = report.build(tmp_path)
    run_dir = tracking.log_report(tmp_path, gaps, figs)  # the logger settings of multirun.yaml
    assert run_dir.parent == tmp_path / "wandb"
    run = read_run(run_dir)
    assert run["run"]["job_type"] == "report" and run["run"]["group"] == "/".join(tmp_path.parts[-2:])
    assert run["run"]["name"] == "report"
    s = run["summary"]
    assert s["gap/qwen3_next:L:tiny:seed0/reasoning"] == pytest.approx(0.1)  # 20 points on fc2, 0 on fc4
    assert s["gap/qwen3_next:L:tiny:seed0/short"] == 0
    assert s["minimax/qwen3_next:L:tiny:seed0"] == gaps["variants"]["qwen3_next:L:tiny:seed0"]["minimax"]["verdict"]
    assert s["did_not_train/qwen3_next:L:tiny:seed1"] is True and "gap/qwen3_next:L:tiny:seed1/short" not in s
    gap_table = table(run_dir, s, "gaps/table")
    assert gap_table["columns"] == tracking.GAP_COLUMNS
    rows = {(r[0], r[3]): r for r in gap_table["data"]}
    assert rows[("qwen3_next:L:tiny:seed0", "reasoning")][4] == pytest.approx(0.1)
    dnt = tracking.GAP_COLUMNS.index("did_not_train")
    assert rows[("qwen3_next:L:tiny:seed1", "reasoning")][4] is None and rows[("qwen3_next:L:tiny:seed1", "reasoning")][dnt] is True
    # the charts: a bar chart of gap by category and a line series of accuracy against hops
    assert run["config"]["_wandb/visualize/gaps/by_category"]["panel_config"]["panelDefId"] == "wandb/bar/v0"
    assert run["config"]["_wandb/visualize/difficulty/fact_chain"]["panel_config"]["panelDefId"] == "wandb/lineseries/v0"
    line = table(run_dir, s, "difficulty/fact_chain_table")
    assert line["columns"] == ["step", "lineKey", "lineVal"]  # x = hops, one line per variant
    d = gaps["difficulty"]["fact_chain"]
    assert {(x, k): y for x, k, y in line["data"]} == {
        (h, v): pytest.approx(m) for v, sc in d["scores"].items() for h, m in zip(d["values"], sc["mean"])}
    # L's line leaves out seed 1, which did not train: seed 0 alone, 20 points below its baseline at 2 hops
    b0 = paired(60, 0.9, 0.2, 0)[0].mean()
    assert d["scores"]["qwen3_next:L:tiny"]["mean"] == pytest.approx([b0 - 0.2, b0])
    assert d["scores"]["qwen3_next:L:tiny"]["seeds"] == [0] and d["scores"]["qwen3_next:L:tiny"]["did_not_train_seeds"] == [1]
    images = [f for f in run["files"] if f.startswith("media/images/plots/")]
    assert len(images) == len(figs) == 3
    assert all((run_dir / "files" / f).read_bytes()[:4] == b"\x89PNG" for f in images)


def test_online_failure_falls_back_to_offline_with_one_warning(tmp_path, monkeypatch, caplog):
    real_init = wandb.init

    def init(*args, mode=None, **kwargs):
        if mode == "online":
            raise wandb.errors.CommError("could not reach api.wandb.ai: network unreachable\nretrying")
        return real_init(*args, mode=mode, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setattr(tracking, "wandb_reachable", lambda: (True, ""))  # reachable, then init fails
    with caplog.at_level(logging.WARNING):
        t = tracking.WandbTracker(mode="online", job_dir=str(tmp_path), run_name="x", job_type="F")
        t.summary({"eval/mqar": 0.5})
        t.finish()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "logging offline" in warnings[0].getMessage()
    assert "network unreachable" in warnings[0].getMessage() and "retrying" not in warnings[0].getMessage()
    assert t.run_dir.name.startswith("offline-run-")
    assert read_run(t.run_dir)["summary"]["eval/mqar"] == 0.5


def test_an_offline_failure_is_not_hidden(tmp_path, monkeypatch):
    monkeypatch.setattr(wandb, "init", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        tracking.WandbTracker(mode="offline", job_dir=str(tmp_path))


def test_logger_none_turns_tracking_off(tmp_path):
    cfg = compose_config(["logger=none"])
    t = instantiate(cfg.logger, _partial_=True)(job_dir=str(tmp_path), run_name="x", job_type="F", run_config={})
    assert type(t) is tracking.NullTracker
    t.log({"train/loss": 1.0}, step=1)
    t.results(job_results(tmp_path))
    t.report({}, {})
    t.finish()
    assert tracking.log_report(tmp_path, {"baseline": "F", "scores": {}, "variants": {}}, {}, cfg=cfg) is None
    assert not (tmp_path / "wandb").exists()


def test_default_logger_groups_runs_by_sweep_directory():
    cfg = compose_config(["hydra.sweep.dir=outputs/quick/sweep-7"])
    assert cfg.logger._target_ == "hybrid_eval.harness.report.tracking.WandbTracker" and cfg.logger.mode == "offline"
    from omegaconf import OmegaConf

    assert OmegaConf.to_container(cfg.logger, resolve=False)["group"] == "${hydra:sweep.dir}"
    assert tracking.sweep_group("/anywhere", cfg) == "outputs/quick/sweep-7"


def test_job_run_has_the_learning_rate_grid_table(tmp_path):
    res = job_results(tmp_path)
    res["train"]["lr_grid"] = [
        {"lr": 1e-7, "chosen": False, "val_accuracy": 0.0, "val_accuracy_tasks": {"mqar": 0.0, "one_fact_qa": 0.0},
         "initial_loss": 4.92, "final_loss": 4.91, "val_loss": 4.95, "epochs": 2.0, "did_not_train": True,
         "still_improving": False, "seconds": 0.75},
        {"lr": 3e-3, "chosen": True, "val_accuracy": 0.8, "val_accuracy_tasks": {"mqar": 0.6, "one_fact_qa": 1.0},
         "initial_loss": 3.48, "final_loss": 0.35, "val_loss": 0.5, "epochs": 2.0, "did_not_train": False,
         "still_improving": True, "seconds": 0.78}]
    t = tracking.WandbTracker(mode="offline", job_dir=str(tmp_path), run_name="x", job_type="L")
    t.results(res)
    t.finish()
    s = read_run(t.run_dir)["summary"]
    assert s["train/lr_grid_size"] == 2 and s["train/lr"] == 3e-3
    tab = table(t.run_dir, s, "train/lr_grid")
    assert tab["columns"] == tracking.LR_GRID_COLUMNS + ["val/mqar", "val/one_fact_qa"]
    assert tab["data"] == [[1e-7, False, 0.0, 4.92, 4.91, 4.95, 2.0, True, False, 0.75, 0.0, 0.0],
                           [3e-3, True, 0.8, 3.48, 0.35, 0.5, 2.0, False, True, 0.78, 0.6, 1.0]]
    assert tracking.lr_grid_rows(job_results(tmp_path / "nogrid"))[1] == []  # no grid, no table


def test_a_group_name_a_person_can_read(tmp_path):
    """The sweep directory's last two parts for its jobs and its report; a single run's own folder otherwise."""
    sweep = tmp_path / "quick" / "2026-12-06_05-40-12"
    (sweep / "model.pattern=L").mkdir(parents=True)
    assert tracking.group_name(sweep, sweep / "model.pattern=L") == "quick/2026-12-06_05-40-12"
    assert tracking.group_name(str(sweep), sweep) == "quick/2026-12-06_05-40-12"
    single = tmp_path / "outputs" / "quick" / "2026-12-06_06-00-00"
    single.mkdir(parents=True)
    assert tracking.group_name(tmp_path / "outputs" / "quick" / "never-made", single) == "quick/2026-12-06_06-00-00"
    assert tracking.group_name(None, single) == "quick/2026-12-06_06-00-00"


def test_job_run_has_tags_provenance_step_axis_and_the_results_artifact(tmp_path):
    res = job_results(tmp_path)
    job = next(tmp_path.glob("model.pattern=L*"))
    (job / "checkpoint").mkdir()
    (job / "checkpoint" / "config.json").write_text("{}")
    prov = provenance("cpu")
    for log_checkpoint in (False, True):
        t = tracking.WandbTracker(mode="offline", job_dir=str(job / f"ck{log_checkpoint}"), run_name="x", job_type="L",
                                  run_config={"seed": 0, "provenance": prov}, log_checkpoint=log_checkpoint)
        t.tag(tracking.job_tags(res["model"], "quick", 0))
        for step in (10, 20):
            t.log({"train/loss": 1.0 / step}, step=step)
        t.log({"val/accuracy": 0.5}, step=20)
        t.results(res)
        t.job_artifact("qwen3_next:L:tiny:quick:seed0", [job / "results.json", job / "samples.jsonl"], job / "checkpoint")
        t.finish()
        run = read_run(t.run_dir)
        assert {"family:qwen3_next", "pattern:L", "size:tiny", "suite:quick", "seed:0"} <= set(run["run"]["tags"])
        p = run["config"]["provenance"]
        assert p["packages"]["torch"] == torch_version() and p["hardware"]["device"] == "cpu"
        assert p["git"] is None or (len(p["git"]["commit"]) == 40 and isinstance(p["git"]["dirty"], bool))
        assert run["metrics"]["val/*"] == run["metrics"]["train/*"] == "train/step"
        assert [h["train/step"] for h in run["history"] if "val/accuracy" in h] == [20]
        (art,) = [a for a in run["artifacts"] if a["type"] != "run_table"]  # W&B stores each logged table as one too
        assert art["name"] == "results-qwen3_next-L-tiny-quick-seed0" and art["type"] == "results"
        files = {"results.json", "samples.jsonl"} | ({"checkpoint/config.json"} if log_checkpoint else set())
        assert set(art["entries"]) == files and art["metadata"]["checkpoint"] is log_checkpoint
        for f in ("results.json", "samples.jsonl"):
            assert art["entries"][f]["digest"] == md5_b64(job / f)


def torch_version():
    import torch

    return torch.__version__


def test_report_run_has_the_custom_charts_and_the_report_artifact(tmp_path):
    """Gap by category with 95% error bars and accuracy vs hops with 95% bands, as custom charts of logged tables;
    the sweep's gaps.json, report.md and plots as one artifact; provenance in the config."""
    for seed in (0,):
        b, v = paired(60, 0.9, 0.2, seed)
        write_job(tmp_path, "F", seed, {"fc2": task("fact_chain", "reasoning", b, hops=2),
                                        "fc4": task("fact_chain", "reasoning", b, hops=4),
                                        "one_fact_qa": task("one_fact_qa", "short", np.ones(30))})
        write_job(tmp_path, "L", seed, {"fc2": task("fact_chain", "reasoning", v, hops=2),
                                        "fc4": task("fact_chain", "reasoning", b, hops=4),
                                        "one_fact_qa": task("one_fact_qa", "short", np.ones(30))})
    write_multirun_yaml(tmp_path, "F,L", "0")
    path, gaps, figs = report.build(tmp_path)
    run_dir = tracking.log_report(tmp_path, gaps, figs)
    run = read_run(run_dir)
    assert run["config"]["provenance"]["packages"]["transformers"] and "report" in run["run"]["tags"]
    viz = run["config"]["_wandb/visualize/charts/gap_ci"]["panel_config"]
    assert viz["panelDefId"] == charts.PRESETS["gap"]
    assert viz["fieldSettings"] == charts.GAP_FIELDS
    tab = table(run_dir, run["summary"], "charts/gap_ci_table")
    assert tab["columns"] == charts.GAP_COLUMNS
    v = gaps["variants"]["qwen3_next:L:tiny"]
    rows = {r[0]: r for r in tab["data"]}
    g = v["categories"]["reasoning"]
    assert rows["qwen3_next:L:tiny · reasoning"][1:] == ["reasoning", pytest.approx(g["gap"]), pytest.approx(g["ci95"][0]),
                                                         pytest.approx(g["ci95"][1])]
    assert g["ci95"][0] < g["gap"] < g["ci95"][1]  # a real error bar
    band = run["config"]["_wandb/visualize/charts/difficulty/fact_chain"]["panel_config"]
    assert band["panelDefId"] == charts.PRESETS["difficulty"] and band["fieldSettings"] == charts.BAND_FIELDS
    assert band["stringSettings"]["x_title"] == "hops"
    line = table(run_dir, run["summary"], "charts/difficulty/fact_chain_table")
    d = gaps["difficulty"]["fact_chain"]
    assert line["columns"] == charts.BAND_COLUMNS
    assert line["data"] == [[var, h, pytest.approx(m), pytest.approx(lo), pytest.approx(hi)] for var, s in d["scores"].items()
                            for h, m, lo, hi in zip(d["values"], s["mean"], s["lo"], s["hi"])]
    assert all(lo < m < hi for _, _, m, lo, hi in line["data"] if 0 < m < 1)
    (art,) = [a for a in run["artifacts"] if a["type"] != "run_table"]
    assert art["type"] == "report" and art["name"] == "report-constructed"  # the suite results.json names
    assert {"gaps.json", "report.md"} <= set(art["entries"]) and art["entries"]["report.md"]["digest"] == md5_b64(path)
    assert {f"plots/{p.name}" for p in (tmp_path / "plots").glob("*.png")} == {e for e in art["entries"] if e.startswith("plots/")}


def test_the_chart_specs_read_the_fields_the_runs_log(tmp_path):
    """Every ${field:...} of a spec is a field the tracker maps to a column; the CLI writes both specs as JSON."""
    import json
    import re

    assert charts.main([str(tmp_path)]) == 0
    for name, fields in (("gap_ci.vg.json", charts.GAP_FIELDS), ("accuracy_band.vg.json", charts.BAND_FIELDS)):
        text = (tmp_path / name).read_text()
        assert json.loads(text)["$schema"].endswith("vega/v5.json")
        assert set(re.findall(r"\$\{field:(\w+)\}", text)) == set(fields)


def test_an_unreachable_server_falls_back_to_offline_at_once_probed_once(tmp_path, monkeypatch, caplog):
    """`logger.mode=online` without network waited ~90 s per job; now one TCP probe per sweep (a closed local port
    here: refused at once) and every job logs offline."""
    import time

    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(tracking, "_reachable", {})
    probes, real = [], tracking.socket.create_connection
    monkeypatch.setattr(tracking.socket, "create_connection", lambda *a, **k: probes.append(a) or real(*a, **k))
    t0 = time.time()
    with caplog.at_level(logging.WARNING):
        for job in ("a", "b"):
            t = tracking.WandbTracker(mode="online", job_dir=str(tmp_path / job), run_name=job, job_type="F")
            t.finish()
            assert t.run_dir.name.startswith("offline-run-")
    assert time.time() - t0 < 30 and len(probes) == 1
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == tracking.__name__]
    assert lines == ["W&B online: cannot reach 127.0.0.1:9 (Connection refused); logging offline instead"] * 2


def test_a_resumed_job_and_a_rebuilt_report_stay_one_run(tmp_path):
    """Resumed jobs left extra offline runs (LLLF had 3) and every report rebuild added a report run."""
    for attempt in range(3):
        t = tracking.WandbTracker(mode="offline", job_dir=str(tmp_path), run_name="qwen3_next:L:tiny", job_type="L")
        t.log({"train/loss": 1.0 / (attempt + 1)}, step=1)
        t.finish()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and runs[0].name.endswith(tracking.run_id(tmp_path, "L"))
    assert read_run(runs[0])["summary"]["train/loss"] == pytest.approx(1 / 3)
    report_id = tracking.run_id(tmp_path, "report")
    assert report_id != tracking.run_id(tmp_path, "L")
