"""lm-eval in the same run (`eval.lm_eval_tasks`, hybrid_eval/harness/evaluate/lm_eval_run.py): scores through lm-eval's HFLM on the
job's in-memory model land in results.json / samples.jsonl, equal the harness's own on the same examples, and
enter the gap tables like harness tasks; bad entries stop the job before training with one line and exit 2.

Jobs: tiny qwen3_next probes trained 300 steps (one thread) on a two-task suite (one_fact_qa with one fact,
fact_recall with two) so that answers differ between examples and some are right: F answers all of one_fact_qa
right, LLLF 83%, L 33% (transformers 5.25, the training loss at the scored positions), and all of them trained (their validation accuracy clears chance). F must
have learned one_fact_qa beyond its interval, or no gap is reported against it (analysis/learned.py); at 200 steps
F's 12 answers left chance inside the interval (seed 1) or L did not train (seed 0): the tiny runs amplify
summation-order differences between transformers versions.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir

from hybrid_eval.harness.analysis import gaps
from hybrid_eval.harness.analysis.learned import unlearned_reason
from hybrid_eval.harness.report import markdown as report
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.evaluate.lm_eval_run import CATEGORY, EXPORT_DIR, plan
from hybrid_eval.harness.run import run_job
from hybrid_eval.tasks.data import Suite
from tests.conftest import CONF, ROOT

lm_eval = pytest.importorskip("lm_eval")

SUITE = ["suite.name=lmq", "suite.tasks=[{name:one_fact_qa,knobs:{n_facts:1}},{name:fact_recall,knobs:{n_facts:2,n_questions:2}}]"]
FAST = ["~experiment", "logger=none", "device=cpu", "threads=1", "model.size=tiny", "train.max_steps=300",
        "train.batch_size=16", "train.lr=5e-3", "train.warmup_steps=10", "train.n_examples=200", "train.n_validation=16",
        "eval.n_test=12", *SUITE]
ENTRIES = "eval.lm_eval_tasks=[harness:one_fact_qa,harness:fact_recall,kite_color]"
ONE, RECALL = "lm_eval/hybrid_eval_lmq_one_fact_qa", "lm_eval/hybrid_eval_lmq_fact_recall"


def config(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*FAST, *overrides])


COLORS = ["red", "blue", "green", "violet"]
KITE_DOCS = [{"prompt": f"<|user|> tina has the {c} kite . what color is the kite of tina ? <|end|> <|assistant|>",
              "choices": COLORS, "gold": k} for k, c in enumerate(COLORS)]


@pytest.fixture(scope="module")
def include_dir(tmp_path_factory):
    """A multiple-choice lm-eval task over local data (not an export): `kite_color`, 4 docs, metric acc."""
    d = tmp_path_factory.mktemp("lm_eval_include")
    (d / "docs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in KITE_DOCS))
    (d / "kite.yaml").write_text(
        "task: kite_color\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {d / 'docs.jsonl'}\ntest_split: test\noutput_type: multiple_choice\n"
        "doc_to_text: '{{prompt}}'\ndoc_to_choice: '{{choices}}'\ndoc_to_target: '{{gold}}'\n"
        "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\nmetadata:\n  version: 1\n")
    return d


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, include_dir):
    return SimpleNamespace(root=tmp_path_factory.mktemp("lm_eval_sweep"), include=include_dir)


def job(sweep, pattern: str) -> tuple[dict, list[dict], Path]:
    """The sweep's job of `pattern` (run once per module): both exports plus kite_color from the include dir."""
    d = sweep.root / f"model.pattern={pattern}"
    if not (d / "results.json").exists():
        threads = torch.get_num_threads()
        try:
            run_job(config(f"model.pattern={pattern}", ENTRIES, f"eval.lm_eval_include=[{sweep.include}]"), d)
        finally:
            torch.set_num_threads(threads)
    samples = [json.loads(line) for line in (d / "samples.jsonl").read_text().splitlines()]
    return json.loads((d / "results.json").read_text()), samples, d


def by_id(samples, task):
    return {s["id"]: s for s in samples if s["task"] == task}


def test_lm_eval_scores_in_results_equal_the_harness_scores(sweep):
    res, samples, d = job(sweep, "LLLF")  # the job whose one_fact_qa answers are partly right (F's are all right)
    harness, lm = by_id(samples, "one_fact_qa"), by_id(samples, ONE)
    assert sorted(lm) == sorted(harness) and len(lm) == 12
    for i, h in harness.items():  # the same examples, prompts (content hash), answers and scores
        assert (lm[i]["prompt_hash"], lm[i]["outputs"], lm[i]["score"]) == (h["prompt_hash"], h["outputs"], h["score"]), i
    assert len({s["outputs"][0] for s in harness.values()}) > 2  # the probe answers differently across examples
    score = res["tasks"][ONE]["score"]
    assert score == res["tasks"]["one_fact_qa"]["score"] == sum(s["score"] for s in harness.values()) / 12
    assert 0 < score < 1  # neither all wrong nor all right: equal scores are evidence
    assert res["tasks"][ONE]["ci95"] == res["tasks"]["one_fact_qa"]["ci95"]
    assert res["tasks"][ONE]["category"] == CATEGORY and res["tasks"][ONE]["chance"] == res["tasks"]["one_fact_qa"]["chance"]

    # fact_recall is exported as one doc per scored turn (gold history) and scored per example: the harness's answers
    h_recall, lm_recall = by_id(samples, "fact_recall"), by_id(samples, RECALL)
    assert sorted(lm_recall) == sorted(h_recall)
    for i, h in h_recall.items():
        assert len(h["outputs"]) == 2
        assert (lm_recall[i]["prompt_hash"], lm_recall[i]["outputs"], lm_recall[i]["turn_scores"], lm_recall[i]["score"]) == \
            (h["prompt_hash"], h["outputs"], h["turn_scores"], h["score"]), i
    assert res["tasks"][RECALL]["score"] == res["tasks"]["fact_recall"]["score"]

    info = res["lm_eval"]
    assert info["version"] == lm_eval.__version__ and info["max_length"] == 8192 and info["batch_size"] == 64
    t = info["tasks"]["hybrid_eval_lmq_one_fact_qa"]
    assert t["entry"] == "harness:one_fact_qa" and t["metric"] == "score" and t["add_bos_token"] is False
    assert t["metrics"]["score,none"] == score  # lm-eval's own aggregate
    assert len(t["config_hash"]) == 16 and int(t["config_hash"], 16) >= 0
    lm_scores = [v["score"] for k, v in res["tasks"].items() if k.startswith("lm_eval/")]
    assert len(lm_scores) == 3 and res["categories"][CATEGORY] == pytest.approx(sum(lm_scores) / 3, abs=1e-12)
    assert (d / EXPORT_DIR / "one_fact_qa.yaml").is_file()
    raw = json.loads((d / "lm_eval.json").read_text())
    assert raw["harness"]["results"]["hybrid_eval_lmq_one_fact_qa"]["score,none"] == score


def test_gaps_and_report_include_lm_eval_tasks(sweep):
    """F against LLLF and L (all Gated DeltaNet: transformers' generate() cannot decode it, the harness's decoder
    inside HFLM can): every variant's lm-eval answers equal its harness answers, and gaps pair them by example."""
    f_res, f_samples, _ = job(sweep, "F")
    for pattern in ("LLLF", "L"):
        res, samples, _ = job(sweep, pattern)
        assert not res["did_not_train"]  # else gaps would leave it out
        h, lm = by_id(samples, "one_fact_qa"), by_id(samples, ONE)
        assert {i: (s["outputs"], s["score"]) for i, s in lm.items()} == {i: (s["outputs"], s["score"]) for i, s in h.items()}
        assert res["lm_eval"]["tasks"]["hybrid_eval_lmq_one_fact_qa"]["config_hash"] == \
            f_res["lm_eval"]["tasks"]["hybrid_eval_lmq_one_fact_qa"]["config_hash"]  # the job dir is not part of it
    g = gaps.for_sweep(sweep.root)[0]
    for pattern in ("LLLF", "L"):
        res, samples, _ = job(sweep, pattern)
        v = g["variants"][f"qwen3_next:{pattern}:tiny"]
        fb, vb = by_id(f_samples, ONE), by_id(samples, ONE)
        expected = sum(fb[i]["score"] - vb[i]["score"] for i in fb) / len(fb)  # paired by example id
        assert expected != 0  # F and the variant differ here, so a dropped or mispaired example would show
        assert v["tasks"][ONE]["gap"] == pytest.approx(expected, abs=1e-12) and v["tasks"][ONE]["n"] == 12
        assert v["tasks"][ONE]["gap"] == pytest.approx(v["tasks"]["one_fact_qa"]["gap"], abs=1e-12)
        assert v["tasks"][ONE]["ci95"] == v["tasks"]["one_fact_qa"]["ci95"]  # same pairs, same bootstrap
        # lm-eval tasks are judged like harness tasks: a gap where F learned the task, else withheld with the reason
        judged = [t for t in (ONE, RECALL, "lm_eval/kite_color") if unlearned_reason(f_res["tasks"][t]) is None]
        assert ONE in judged and v["categories"][CATEGORY]["n"] == sum({ONE: 12, RECALL: 12}.get(t, 4) for t in judged)
        for t in (RECALL, "lm_eval/kite_color"):
            assert (t in v["tasks"]) == (t in judged) and (t in v["undecided"]["tasks"]) == (t not in judged)
        kite_f, kite_v = by_id(f_samples, "lm_eval/kite_color"), by_id(samples, "lm_eval/kite_color")
        assert sorted(kite_f) == sorted(kite_v) and len(kite_f) == 4  # paired by lm-eval's doc id and doc hash
        if "lm_eval/kite_color" in judged:
            assert v["tasks"]["lm_eval/kite_color"]["gap"] == pytest.approx(
                sum(kite_f[i]["score"] - kite_v[i]["score"] for i in kite_f) / 4, abs=1e-12)
        assert v["categories"]["short"]["n"] == 12  # the control is one_fact_qa alone: exports are not counted twice
    assert g["scores"]["qwen3_next:F:tiny"]["tasks"][ONE]["score"] == f_res["tasks"][ONE]["score"]
    text = report.render(sweep.root, g)
    for pattern in ("LLLF", "L"):
        assert f"| {ONE} | lm_eval | {100 * g['variants'][f'qwen3_next:{pattern}:tiny']['tasks'][ONE]['gap']:+.1f} |" in text


def test_a_task_from_an_include_dir_runs_through_hflm(sweep):
    """kite_color (multiple choice, local data): each doc's accuracy is the argmax of the model's own
    log-likelihoods, computed here by hand; chance is 1/choices; add_bos_token is lm-eval's default."""
    res, samples, d = job(sweep, "F")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(d / "checkpoint")
    model = AutoModelForCausalLM.from_pretrained(d / "checkpoint", use_safetensors=True).eval()
    kite = [s for s in samples if s["task"] == "lm_eval/kite_color"]
    assert sorted(s["lm_eval"]["doc_id"] for s in kite) == [0, 1, 2, 3]
    picks = []
    with torch.no_grad():
        for s in kite:
            doc = KITE_DOCS[s["lm_eval"]["doc_id"]]
            ctx = tok(doc["prompt"])["input_ids"]
            lls = []
            for c in COLORS:  # log p(" c" | prompt)
                ids = tok(doc["prompt"] + " " + c)["input_ids"]
                logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
                lls.append(sum(float(logp[j - 1, ids[j]]) for j in range(len(ctx), len(ids))))
            picks.append(max(range(4), key=lls.__getitem__))
            assert s["score"] == float(picks[-1] == doc["gold"]), (s["id"], lls)
    assert len(set(picks)) > 1 or kite[0]["score"] != kite[1]["score"]  # not one constant answer scored the same
    t = res["tasks"]["lm_eval/kite_color"]
    assert t["score"] == sum(s["score"] for s in kite) / 4 == res["lm_eval"]["tasks"]["kite_color"]["metrics"]["acc,none"]
    assert t["chance"] == 0.25 and t["metric"] == "acc,none"
    assert res["lm_eval"]["tasks"]["kite_color"]["add_bos_token"] is None and res["lm_eval"]["tasks"]["kite_color"]["entry"] == "kite_color"
    assert len({s["prompt_hash"] for s in kite}) == 4  # lm-eval's doc hash: pairs docs across variants


def suite():
    return Suite.from_config(config().suite)


@pytest.mark.parametrize("entries,message", [
    (["harness:nope"], "'harness:nope' names no task of suite 'lmq'; accepted: harness:one_fact_qa, harness:fact_recall"),
    (["harness:one_fact_qa", "harness:one_fact_qa"], "lists 'harness:one_fact_qa' twice"),
    ([""], "accepted: harness:ALIAS"),
])
def test_bad_entries_are_one_line_config_errors(entries, message):
    from omegaconf import OmegaConf

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        plan(OmegaConf.create({"lm_eval_tasks": entries}), suite())
    assert "\n" not in str(e.value)


def test_an_unknown_name_and_data_that_is_not_local_are_config_errors(tmp_path):
    from omegaconf import OmegaConf

    with pytest.raises(ConfigError, match=r"'arc_easyy' is not a task, group or tag in lm-eval's registry \(close: arc_easy") as e:
        plan(OmegaConf.create({"lm_eval_tasks": ["arc_easyy"]}), suite())  # indexes lm-eval's registry (~7 s)
    assert "\n" not in str(e.value)
    (tmp_path / "remote.yaml").write_text("task: remote_only\ndataset_path: hybrid-eval-tests/not-on-this-machine\n"
                                          "test_split: test\noutput_type: generate_until\ndoc_to_text: '{{q}}'\n"
                                          "doc_to_target: '{{a}}'\n")
    with pytest.raises(ConfigError, match="'remote_only' could not be loaded without network") as e:
        plan(OmegaConf.create({"lm_eval_tasks": ["remote_only"], "lm_eval_include": [str(tmp_path)]}), suite())
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="is not a directory"):
        plan(OmegaConf.create({"lm_eval_tasks": ["x"], "lm_eval_include": [str(tmp_path / "nope")]}), suite())


def test_a_bad_name_exits_2_before_training(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", *FAST, "eval.lm_eval_tasks=[harness:mqar]",
                          f"hydra.run.dir={run_dir}"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert lines[-1] == ("hybrid-eval: error: eval.lm_eval_tasks: 'harness:mqar' names no task of suite 'lmq'; "
                         "accepted: harness:one_fact_qa, harness:fact_recall")
    assert "Traceback" not in out.stderr
    assert not (run_dir / "checkpoint").exists() and not (run_dir / "results.json").exists()
