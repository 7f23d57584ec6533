"""The learning-rate grid (hybrid_eval/harness/train/lr_grid.py) on a tiny qwen3_next `F` probe and an easy task (one_fact_qa
with 1 fact and 4 colours, chance 25%): 40 steps at lr 3e-3 reach 100% validation accuracy, 40 steps at
1e-7 stay at 0% with a flat loss (measured on the 2-core CPU). Each job trains in about a second."""
import json
import subprocess
import sys
import time

import pytest
import torch
from omegaconf import OmegaConf, open_dict

from hybrid_eval.harness.train import loop, lr_grid
from hybrid_eval.harness import run
from hybrid_eval import models
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.train.loop import encode_examples, make_batch
from hybrid_eval.harness.train.probe import train_probe
from hybrid_eval.tasks.data import Suite, load_splits
from tests.conftest import ROOT, compose_config

GOOD, SLOW, BAD = 3e-3, 2e-4, 1e-7
FAST = ["~experiment", "logger=none", "device=cpu", "model.size=tiny", "model.pattern=F", "suite=short",
        "suite.tasks=[{name: one_fact_qa, knobs: {n_facts: 1, n_colors: 4}}]", "train.max_steps=40",
        "train.warmup_steps=5", "train.batch_size=16", "train.log_every=10", "train.n_examples=200",
        "train.n_validation=20", "eval.n_test=20", "eval.max_new_tokens=2"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def job_config(*overrides):
    cfg = compose_config(FAST + list(overrides))
    with open_dict(cfg):
        cfg.pop("hydra")  # run_job resolves the whole config; outside a Hydra app there is no HydraConfig
    return cfg


def spy_evaluate(monkeypatch) -> list[dict]:
    """Every harness.run.evaluate call: the example ids it scored and the mean score it gave."""
    calls, real = [], run.evaluate

    def spy(model, tokenizer, tasks, examples, cfg, **kw):
        records = real(model, tokenizer, tasks, examples, cfg, **kw)
        calls.append({"ids": sorted(ex["id"] for exs in examples.values() for ex in exs),
                      "mean": sum(r["score"] for r in records) / len(records)})
        return records

    monkeypatch.setattr(run, "evaluate", spy)
    return calls


def count_training(monkeypatch) -> list[float]:
    """The learning rate of every training run (harness.train.loop.train, which probe.py and lr_grid.py call)."""
    rates, real = [], loop.train

    def counted(model, tokenizer, examples, cfg, **kw):
        rates.append(float(cfg.lr))
        return real(model, tokenizer, examples, cfg, **kw)

    monkeypatch.setattr(loop, "train", counted)
    return rates


def test_grid_picks_the_good_rate_on_the_validation_split_and_records_both_runs(tmp_path, monkeypatch):
    calls = spy_evaluate(monkeypatch)
    res = run.run_job(job_config(f"train.lr_grid=[{GOOD},{BAD}]"), tmp_path / "grid")
    tr = res["train"]
    assert tr["lr"] == GOOD and [r["lr"] for r in tr["lr_grid"]] == [GOOD, BAD]
    good, bad = tr["lr_grid"]
    assert good["chosen"] is True and bad["chosen"] is False
    # measured: 100% vs 0% validation accuracy (chance 25%); loss 3.48 -> 0.35 vs 4.92 -> 4.91
    assert good["val_accuracy"] >= 0.9 and bad["val_accuracy"] <= 0.25
    assert good["val_accuracy_tasks"] == {"one_fact_qa": good["val_accuracy"]}
    assert good["final_loss"] < 1.0 < 4.5 < bad["final_loss"]
    assert good["did_not_train"] is False and bad["did_not_train"] is True and res["did_not_train"] is False
    assert good["still_improving"] is True and bad["still_improving"] is False
    assert len(good["loss_curve"]) == 4 and good["val_curve"] == [[40, good["val_accuracy"]]]
    assert tr["val_accuracy"] == good["val_accuracy"] and tr["final_loss"] == good["final_loss"]
    assert tr["still_improving"] is True and tr["convergence"]["points"] == 3
    assert tr["seconds"] == pytest.approx(good["seconds"] + bad["seconds"], abs=0.02)
    # selection saw only the validation split: one scoring per grid run, then the test split once, for the chosen run
    assert len(calls) == 3
    assert all(i.startswith("one_fact_qa-validation-") for c in calls[:2] for i in c["ids"]) and len(calls[0]["ids"]) == 20
    assert calls[0]["ids"] == calls[1]["ids"] and all("-test-" in i for i in calls[2]["ids"])
    assert [c["mean"] for c in calls[:2]] == [good["val_accuracy"], bad["val_accuracy"]]
    assert res["tasks"]["one_fact_qa"]["score"] == calls[2]["mean"] >= 0.9
    # only the chosen checkpoint is kept; its train.json holds the grid
    assert sorted(p.name for p in (tmp_path / "grid").iterdir()) == ["checkpoint", "results.json", "samples.jsonl"]
    saved = json.loads((tmp_path / "grid" / "checkpoint" / "train.json").read_text())
    assert saved["lr"] == GOOD and [r["lr"] for r in saved["lr_grid"]] == [GOOD, BAD]

    # every run starts from the same init, seed and data order: the second run (1e-7, trained after 3e-3 in the
    # same process) has exactly the loss curve of a job trained at 1e-7 alone
    alone = run.run_job(job_config(f"train.lr={BAD}"), tmp_path / "alone")["train"]
    assert alone["lr"] == BAD and "lr_grid" not in alone
    assert bad["loss_curve"] == alone["loss_curve"] and bad["val_accuracy"] == alone["val_accuracy"]


def test_resumed_grid_job_does_not_retrain(tmp_path, monkeypatch):
    job = tmp_path / "job"
    first = run.run_job(job_config(f"train.lr_grid=[{BAD},{GOOD}]"), job)
    assert first["train"]["lr"] == GOOD
    (job / "results.json").unlink()  # killed after training, before the results were written
    trained = count_training(monkeypatch)
    again = run.run_job(job_config(f"train.lr_grid=[{BAD},{GOOD}]"), job)
    assert trained == []
    assert again["train"]["lr"] == GOOD and again["train"]["lr_grid"] == first["train"]["lr_grid"]
    assert again["tasks"]["one_fact_qa"]["score"] == first["tasks"]["one_fact_qa"]["score"]
    # another grid into the same directory is refused with one line, not silently mixed
    (job / "results.json").unlink()
    with pytest.raises(ConfigError, match=r"was trained with train.lr_grid=\[1e-07, 0.003\] .* accepted"):
        run.run_job(job_config(f"train.lr_grid=[{GOOD},1e-3]"), job)


@pytest.fixture(scope="module")
def probe_inputs():
    """(config, tokenizer, train examples) for calling train_probe directly."""
    cfg = job_config()
    suite = Suite.from_config(cfg.suite)
    data = {t.alias: load_splits(t, {"train": 200, "validation": 20, "test": 20}, seed=cfg.suite.seed, cache_dir=None)
            for t in suite.tasks}
    return cfg, run.suite_tokenizer(suite, data), {k: v["train"] for k, v in data.items()}


class Killed(Exception):
    pass


def batch_loss(model, tokenizer, examples) -> float:
    """Loss of `model` on the first 32 training transcripts (assistant tokens)."""
    encoded = encode_examples(tokenizer, examples)["one_fact_qa"][:32]
    ids, mask, labels = make_batch(encoded, tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        return float(model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss)


def fake_validation(scores):
    """validate(model) returning the next of `scores` (a one-task validation summary, chance 25%, n 100)."""
    it = iter(scores)
    return lambda model: {"one_fact_qa": {"score": next(it), "chance": 0.25, "n": 100}}


def grid_with_scores(probe_inputs, tmp_path, grid, scores):
    """train_probe over `grid` with validation scores `scores` (one per rate): (model, summary, validation)."""
    cfg, tokenizer, examples = probe_inputs
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    return train_probe(model, tokenizer, examples, OmegaConf.merge(cfg.train, {"lr_grid": grid}), seed=0,
                       device="cpu", ckpt=tmp_path / "checkpoint", validate=fake_validation(scores))


def test_selection_follows_the_validation_score_not_the_training_loss(tmp_path, probe_inputs):
    _, tokenizer, examples = probe_inputs
    # validation says the slow rate is better: it is chosen although its training loss is far higher
    model, summary, validation = grid_with_scores(probe_inputs, tmp_path, [GOOD, SLOW], [0.5, 0.75])
    good, slow = summary["lr_grid"]
    assert summary["lr"] == SLOW and slow["chosen"] and not slow["did_not_train"]
    assert good["final_loss"] < 1.0 < 2.0 < slow["final_loss"]
    assert validation["one_fact_qa"]["score"] == 0.75 and summary["val_accuracy"] == 0.75
    # the returned model is the chosen run's, and so is the checkpoint
    assert batch_loss(model, tokenizer, examples) > 2.0
    assert json.loads((tmp_path / "checkpoint" / "train.json").read_text())["lr"] == SLOW


def test_a_run_that_did_not_train_is_not_chosen_over_one_that_did(tmp_path, probe_inputs):
    """BAD's loss does not fall (did_not_train): a better validation score does not make it the variant's result,
    which would exclude the variant from every gap although another rate trained."""
    _, tokenizer, examples = probe_inputs
    model, summary, _ = grid_with_scores(probe_inputs, tmp_path, [GOOD, BAD], [0.5, 0.75])
    good, bad = summary["lr_grid"]
    assert bad["did_not_train"] and not good["did_not_train"]
    assert summary["lr"] == GOOD and good["chosen"] and summary["val_accuracy"] == 0.5
    assert batch_loss(model, tokenizer, examples) < 1.0


def test_ties_go_to_lower_final_loss_then_lower_lr():
    runs = [{"lr": 1e-3, "val_accuracy": 0.5, "final_loss": 1.0}, {"lr": 3e-3, "val_accuracy": 0.5, "final_loss": 0.8},
            {"lr": 3e-4, "val_accuracy": 0.4, "final_loss": 0.1}]
    assert lr_grid.select(runs) == 1
    runs[1]["final_loss"] = 1.0
    assert lr_grid.select(runs) == 0  # equal accuracy and loss: the lower rate
    runs[0]["final_loss"] = float("nan")  # a diverged run loses every tie
    assert lr_grid.select(runs) == 1
    assert lr_grid.select([{"lr": 1e-3, "val_accuracy": None, "final_loss": 0.1}, {"lr": 3e-3, "val_accuracy": 0.0, "final_loss": 5.0}]) == 1
    runs = [{"lr": 1e-3, "val_accuracy": 0.9, "final_loss": 0.1, "did_not_train": True},  # e.g. diverged late
            {"lr": 3e-3, "val_accuracy": 0.4, "final_loss": 0.5, "did_not_train": False}]
    assert lr_grid.select(runs) == 1
    runs[1]["did_not_train"] = True  # none trained: validation decides again
    assert lr_grid.select(runs) == 0


def interrupt_grid(probe_inputs, train_cfg, ckpt) -> None:
    """Run `train_cfg`'s grid into `ckpt` and kill it (an exception) while validation scores the second run."""
    cfg, tokenizer, examples = probe_inputs
    calls = []

    def validate(model):
        calls.append(model)
        if len(calls) == 2:
            raise Killed
        return {"one_fact_qa": {"score": 0.9, "chance": 0.25, "n": 100}}

    with pytest.raises(Killed):
        train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples, train_cfg, seed=0,
                    device="cpu", ckpt=ckpt, validate=validate)


def test_an_interrupted_grid_trains_only_the_rates_it_had_not_finished(tmp_path, probe_inputs, monkeypatch):
    cfg, tokenizer, examples = probe_inputs
    train_cfg = OmegaConf.merge(cfg.train, {"lr_grid": [GOOD, BAD]})
    ckpt = tmp_path / "checkpoint"
    interrupt_grid(probe_inputs, train_cfg, ckpt)
    work = tmp_path / "checkpoint.lr_grid"
    saved = json.loads((work / "runs.json").read_text())
    assert [r["lr"] for r in saved["runs"]] == [GOOD] and (work / f"lr={GOOD!r}" / "config.json").exists()
    assert not ckpt.exists()
    trained = count_training(monkeypatch)
    model, summary, _ = train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples, train_cfg,
                                    seed=0, device="cpu", ckpt=ckpt, validate=fake_validation([0.25]))
    assert trained == [BAD]  # 3e-3 was finished and kept; only 1e-7 ran again
    assert summary["lr"] == GOOD and [r["val_accuracy"] for r in summary["lr_grid"]] == [0.9, 0.25]
    assert summary["lr_grid"][0]["final_loss"] == saved["runs"][0]["final_loss"]
    assert not work.exists() and (ckpt / "train.json").exists()
    # the chosen run's weights came back from disk: a trained model's loss, not the untrained ~4.9
    assert batch_loss(model, tokenizer, examples) < 1.0


@pytest.mark.parametrize("grid,needle", [
    ("3e-4", "is not a list"), ([], "is empty"), ([1e-3, 0], "0, not a positive number"),
    ([1e-3, -3e-3], "-0.003, not a positive number"), (["fast"], "'fast', not a positive number"),
    ([True], "True, not a positive number"), ([1e-3, 1e-3], "repeats a rate"),
])
def test_bad_grid_values_are_config_errors(grid, needle):
    with pytest.raises(ConfigError, match="accepted") as e:
        lr_grid.check_lr_grid(OmegaConf.create({"lr_grid": grid, "n_validation": 100}))
    assert needle in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="needs a validation split"):
        lr_grid.check_lr_grid(OmegaConf.create({"lr_grid": [1e-3], "n_validation": 0}))
    assert lr_grid.check_lr_grid(OmegaConf.create({"lr_grid": [3e-4, 1, 3e-3], "n_validation": 1})) == [3e-4, 1.0, 3e-3]
    assert lr_grid.check_lr_grid(OmegaConf.create({"lr_grid": None})) is None


@pytest.mark.parametrize("override,needle", [
    ("train.lr_grid=3e-4", "train.lr_grid=0.0003 is not a list"),
    ("train.lr_grid=[]", "train.lr_grid=[] is empty"),
    ("train.lr_grid=[1e-3,-1e-3]", "-0.001, not a positive number"),
])
def test_bad_grid_on_the_command_line_is_one_line_and_exit_2(override, needle, tmp_path):
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", "~experiment", "logger=none", override,
                          f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2, out.stderr[-3000:]
    err = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and needle in err[0] and "accepted" in err[0], out.stderr
    assert not (tmp_path / "checkpoint").exists()  # stopped before any training


def test_max_seconds_stops_training_early_and_records_where(tmp_path):
    full = run.run_job(job_config(), tmp_path / "full")["train"]
    cut = run.run_job(job_config("train.max_seconds=1e-9"), tmp_path / "cut")["train"]  # stops after step 1
    assert full["steps"] == 40 and full["stopped_at_step"] is None and len(full["loss_curve"]) == 4
    assert cut["steps"] == 1 and cut["stopped_at_step"] == 1 and [s for s, _ in cut["loss_curve"]] == [1]
    assert cut["initial_loss"] == cut["final_loss"]  # one logged point: the first step's loss
    assert cut["tokens"] * 20 < full["tokens"]


def test_max_seconds_does_not_count_the_first_step(tmp_path, probe_inputs):
    """The first step stands for kernel compilation and autotuning (minutes on a GPU with a cold cache): it takes
    1 s here, longer than the 0.5 s limit, and training still goes on past it; results record its time."""
    cfg, tokenizer, examples = probe_inputs
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    calls = []

    def compile_once(module, args, kwargs):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1.0)

    backbone = getattr(model, model.base_model_prefix)  # training calls the backbone (harness/train/loss.py)
    handle = backbone.register_forward_pre_hook(compile_once, with_kwargs=True)
    train_cfg = OmegaConf.merge(cfg.train, {"lr_grid": [GOOD], "max_steps": 4, "log_every": 1, "max_seconds": 0.5})
    _, summary, _ = train_probe(model, tokenizer, examples, train_cfg, seed=0, device="cpu",
                                ckpt=tmp_path / "checkpoint", validate=fake_validation([0.9]))
    handle.remove()
    assert summary["first_step_seconds"] >= 1.0 and summary["seconds"] >= 1.0
    assert summary["steps"] > 1  # before the fix it stopped after step 1, the limit spent on compiling


@pytest.mark.parametrize("value", ["0", "-5", "soon", "true"])
def test_bad_max_seconds_is_a_config_error_before_training(value, tmp_path):
    with pytest.raises(ConfigError, match=r"train.max_seconds=.*accepted: null \(no limit\) or a number of seconds > 0"):
        run.run_job(job_config(f"train.max_seconds={value}"), tmp_path / "bad")
    assert not (tmp_path / "bad" / "checkpoint").exists()


def test_val_every_records_the_validation_curve_without_changing_training(tmp_path):
    plain = run.run_job(job_config(), tmp_path / "plain")["train"]
    res = run.run_job(job_config("train.val_every=10"), tmp_path / "curve")
    tr = res["train"]
    assert [s for s, _ in tr["val_curve"]] == [10, 20, 30, 40] and tr["val_curve"][-1][1] == tr["val_accuracy"]
    assert tr["loss_curve"] == plain["loss_curve"] and tr["val_accuracy"] == plain["val_accuracy"]
    # measured: the good rate learns one_fact_qa within 40 steps; the curve rises from near chance (25%) to >= 90%
    assert tr["val_curve"][0][1] < tr["val_curve"][-1][1] and tr["val_curve"][-1][1] >= 0.9
    grid = run.run_job(job_config("train.val_every=20", f"train.lr_grid=[{GOOD},{BAD}]"), tmp_path / "grid")["train"]
    assert [[s for s, _ in r["val_curve"]] for r in grid["lr_grid"]] == [[20, 40], [20, 40]]
    assert grid["val_curve"] == grid["lr_grid"][0]["val_curve"]  # the chosen run's (GOOD)


@pytest.mark.parametrize("value", ["0", "2.5", "often", "true"])
def test_bad_val_every_is_a_config_error_before_training(value, tmp_path):
    with pytest.raises(ConfigError, match=r"train.val_every=.*accepted: null \(validate once, after training\)"):
        run.run_job(job_config(f"train.val_every={value}"), tmp_path / "bad")
    assert not (tmp_path / "bad" / "checkpoint").exists()


def test_a_diverging_run_stops_at_the_first_non_finite_loss_and_did_not_train(tmp_path, probe_inputs):
    """The model's logits (so its loss) turn NaN on its 4th forward pass: training stops before that step's update (weights stay
    finite), results say where, and the run is did_not_train whatever its validation score."""
    cfg, tokenizer, examples = probe_inputs
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    calls = []

    def poison(module, args, kwargs, output):
        calls.append(1)
        if len(calls) == 4:
            return output * float("nan")
        return output

    handle = model.get_output_embeddings().register_forward_hook(poison, with_kwargs=True)  # once a step
    train_cfg = OmegaConf.merge(cfg.train, {"lr_grid": [GOOD], "max_steps": 10, "log_every": 2})
    model, summary, _ = train_probe(model, tokenizer, examples, train_cfg, seed=0, device="cpu",
                                    ckpt=tmp_path / "checkpoint", validate=fake_validation([0.9]))
    handle.remove()
    (only,) = summary["lr_grid"]
    assert summary["diverged_at_step"] == 4 and summary["steps"] == 3 and summary["stopped_at_step"] is None
    assert [s for s, _ in summary["loss_curve"]] == [2, 3] and all(torch.isfinite(p).all() for p in model.parameters())
    assert only["did_not_train"] and only["did_not_train_reason"] == "diverged: the loss or its gradient was not finite at step 4"


def test_a_non_finite_gradient_stops_training_before_it_reaches_the_weights(tmp_path, probe_inputs):
    """The loss stays finite but the 3rd backward pass yields a NaN gradient: clipping would spread it to every
    weight, so training stops before that update and the run is did_not_train."""
    cfg, tokenizer, examples = probe_inputs
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    calls = []

    def poison(grad):
        calls.append(1)
        return grad * float("nan") if len(calls) == 3 else grad

    handle = next(p for p in model.parameters() if p.ndim == 2).register_hook(poison)
    train_cfg = OmegaConf.merge(cfg.train, {"lr_grid": [GOOD], "max_steps": 10, "log_every": 1})
    model, summary, _ = train_probe(model, tokenizer, examples, train_cfg, seed=0, device="cpu",
                                    ckpt=tmp_path / "checkpoint", validate=fake_validation([0.9]))
    handle.remove()
    (only,) = summary["lr_grid"]
    assert summary["diverged_at_step"] == 3 and summary["steps"] == 2
    assert [s for s, _ in summary["loss_curve"]] == [1, 2] and all(torch.isfinite(p).all() for p in model.parameters())
    assert only["did_not_train"] and only["did_not_train_reason"] == "diverged: the loss or its gradient was not finite at step 3"
