"""A job directory is a verified unit (hybrid_eval/harness/store.py, fingerprint.py; README "Resuming and integrity"):
a checkpoint or a result of other settings is refused with one line naming what differs, a damaged samples.jsonl
or checkpoint is redone, with results identical to the undamaged run's, and never read. The tiny `F` probe of
tests/harness/train/test_lr_grid.py (40 steps, about a second of training)."""
import json

import pytest

from hybrid_eval.harness import run, store
from hybrid_eval.harness.analysis.gaps import for_sweep
from hybrid_eval.harness.errors import ConfigError
from tests.harness.train.test_lr_grid import _one_thread, count_training, job_config, probe_inputs  # noqa: F401

pytestmark = pytest.mark.faults  # part of the fault suite (`pytest -m faults`)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A finished job (F, 40 steps) and its results and samples as first written."""
    job = tmp_path_factory.mktemp("integrity") / "job"
    res = run.run_job(job_config(), job)
    return job, res, (job / store.SAMPLES).read_bytes()


def _copy(done, tmp_path):
    import shutil

    job, res, samples = done
    shutil.copytree(job, tmp_path / "job")
    return tmp_path / "job", res, samples


def _scores(res):
    return {k: (v["score"], v["n"]) for k, v in res["tasks"].items()}


def test_results_record_fingerprint_and_samples_checksum(done):
    job, res, samples = done
    integrity = res["integrity"]
    assert integrity["samples"]["lines"] == len(samples.splitlines()) == 20
    assert integrity["samples"]["sha256"] == store.file_record(job / store.SAMPLES)["sha256"]
    fp = integrity["fingerprint"]
    assert fp["model"]["pattern"] == "F" and fp["train"]["max_steps"] == 40 and fp["data"]["tasks"][0]["version"] >= 1
    saved = json.loads((job / "checkpoint" / store.INTEGRITY).read_text())
    assert set(saved["files"]) == {"model.safetensors"}
    assert saved["files"]["model.safetensors"] == store.file_record(job / "checkpoint" / "model.safetensors")
    assert saved["fingerprint"]["model"]["pattern"] == "F" and saved["fingerprint"]["seed"] == 0


@pytest.mark.parametrize("overrides, differs", [
    (["model.pattern=L", "train.max_steps=5"], ["model.pattern: 'F' -> 'L'", "train.max_steps: 40 -> 5"]),
    (["train.weight_decay=0.0"], ["train.weight_decay: 0.1 -> 0.0"]),  # an edited default changes the weights too
    (["seed=1"], ["seed: 0 -> 1"]),
])
def test_a_checkpoint_of_other_settings_is_refused_not_relabelled(done, tmp_path, monkeypatch, overrides, differs):
    """The campaign's finding 1: results.json and samples.jsonl gone (a kill during evaluation), rerun with another
    pattern: the old code reused F's weights under the label L; now one line names what differs."""
    job, _, _ = _copy(done, tmp_path)
    (job / store.RESULTS).unlink()
    (job / store.SAMPLES).unlink()
    trained = count_training(monkeypatch)
    with pytest.raises(ConfigError, match="was trained with other settings") as e:
        run.run_job(job_config(*overrides), job)
    assert all(d in str(e.value) for d in differs) and "accepted: the same settings" in str(e.value)
    assert "\n" not in str(e.value) and trained == [] and not (job / store.RESULTS).exists()


def test_results_of_other_settings_are_refused(done, tmp_path):
    job, _, _ = _copy(done, tmp_path)
    with pytest.raises(ConfigError, match=r"results.json was computed with other settings \(eval.n_test: 20 -> 10"):
        run.run_job(job_config("eval.n_test=10"), job)


@pytest.mark.parametrize("damage", ["cut mid-line", "half the lines", "a changed score", "deleted"])
def test_a_damaged_samples_file_is_redone_with_identical_results(done, tmp_path, monkeypatch, damage):
    job, res, samples = _copy(done, tmp_path)
    path = job / store.SAMPLES
    lines = samples.splitlines(keepends=True)
    if damage == "cut mid-line":
        path.write_bytes(samples[: len(samples) - 40])
    elif damage == "half the lines":
        path.write_bytes(b"".join(lines[:10]))
    elif damage == "a changed score":
        row = json.loads(lines[0])
        row["score"] = 1.0 - row["score"]
        path.write_bytes(json.dumps(row).encode() + b"\n" + b"".join(lines[1:]))
    else:
        path.unlink()
    assert not store.is_complete(job)
    # the report leaves the damaged job out and names the file (never gaps on half the examples)
    gaps, jobs = for_sweep(tmp_path)
    assert jobs == [] and len(gaps["damaged"]) == 1 and str(path) in gaps["damaged"][0]
    trained = count_training(monkeypatch)
    again = run.run_job(job_config(), job)
    assert trained == []  # the checkpoint is intact: only the evaluation is redone
    assert path.read_bytes() == samples and _scores(again) == _scores(res) and store.is_complete(job)


@pytest.mark.parametrize("damage", ["truncated", "bit flip", "pickle instead"])
def test_damaged_weights_are_retrained_never_loaded(done, tmp_path, monkeypatch, caplog, damage):
    """The campaign's finding 3: a bit-flipped file was used silently, a truncated one raised a traceback on every
    rerun, a pickle was opened. Now each is detected from the hashes saved with the weights and the probe retrained
    (identical weights: training is deterministic)."""
    job, res, samples = _copy(done, tmp_path)
    (job / store.RESULTS).unlink()
    weights = job / "checkpoint" / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "bit flip":
        i = len(data) - 1000
        weights.write_bytes(data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:])
    else:
        weights.unlink()
        (job / "checkpoint" / "pytorch_model.bin").write_bytes(b"not to be unpickled")
    trained = count_training(monkeypatch)
    with caplog.at_level("WARNING"):
        again = run.run_job(job_config(), job)
    assert len(trained) == 1
    assert any("retraining it" in r.getMessage() for r in caplog.records)
    assert weights.read_bytes() == data and (job / store.SAMPLES).read_bytes() == samples
    assert _scores(again) == _scores(res) and not (job / "checkpoint" / "pytorch_model.bin").exists()


@pytest.mark.parametrize("damage", ["cut", "not complete"])
def test_a_damaged_results_file_is_redone(done, tmp_path, monkeypatch, damage):
    job, res, samples = _copy(done, tmp_path)
    path = job / store.RESULTS
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if damage == "cut" else text.replace('"complete": true', '"complete": false'))
    assert store.job_problem(job)[0] == "damaged"
    trained = count_training(monkeypatch)
    again = run.run_job(job_config(), job)
    assert trained == [] and _scores(again) == _scores(res) and (job / store.SAMPLES).read_bytes() == samples


def test_a_resumed_job_reports_the_training_kernel_calls(tmp_path):
    """A job that reused its checkpoint reported only evaluation's kernel calls (the campaign's leftovers); now the
    training's calls, saved with the checkpoint, are added: the same counts as the job that trained."""
    first = run.run_job(job_config("model.pattern=L", "train.max_steps=5"), tmp_path / "job")
    (tmp_path / "job" / store.RESULTS).unlink()
    again = run.run_job(job_config("model.pattern=L", "train.max_steps=5"), tmp_path / "job")
    assert again["train"]["resumed"] is True and "resumed" not in first["train"]
    assert again["kernels"]["calls"] == first["kernels"]["calls"]
    assert first["kernels"]["calls"]["gated_delta:torch"] > first["train"]["kernel_calls"]["gated_delta:torch"] > 0


def test_an_interrupted_grid_whose_best_weights_are_damaged_starts_over(tmp_path, probe_inputs, monkeypatch, caplog):
    """A grid's finished runs are resumed only when the best run's weights match the hashes taken at their save."""
    from omegaconf import OmegaConf

    from hybrid_eval import models
    from hybrid_eval.harness.train.probe import train_probe
    from tests.harness.train.test_lr_grid import BAD, GOOD, fake_validation, interrupt_grid

    cfg, tokenizer, examples = probe_inputs
    train_cfg = OmegaConf.merge(cfg.train, {"lr_grid": [GOOD, BAD]})
    interrupt_grid(probe_inputs, train_cfg, tmp_path / "checkpoint")  # killed while scoring the second run
    weights = tmp_path / "checkpoint.lr_grid" / f"lr={GOOD!r}" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    trained = count_training(monkeypatch)
    with caplog.at_level("WARNING"):
        train_probe(models.build(cfg.model, tokenizer, seed=0)[0], tokenizer, examples, train_cfg, seed=0,
                    device="cpu", ckpt=tmp_path / "checkpoint", validate=fake_validation([0.9, 0.25]))
    assert trained == [GOOD, BAD] and "starting the grid over" in caplog.text
    assert store.checkpoint_problem(tmp_path / "checkpoint") is None


def test_a_result_written_before_integrity_records_is_reported_if_whole_and_redone_on_resume(done, tmp_path):
    """Sweeps from before this change still make a report (every line parses, as many as the tasks count); a rerun
    redoes them, since their settings are unknown."""
    job, res, samples = _copy(done, tmp_path)
    legacy = {k: v for k, v in res.items() if k != "integrity"}
    store.write_json(job / store.RESULTS, legacy)
    assert store.job_problem(job) is None
    assert store.job_problem(job, {"any": "settings"})[0] == "damaged"
    (job / store.SAMPLES).write_bytes(b"".join(samples.splitlines(keepends=True)[:10]))
    assert store.job_problem(job) == ("damaged", f"{job / store.SAMPLES} has 10 lines, results.json counts 20 examples")
