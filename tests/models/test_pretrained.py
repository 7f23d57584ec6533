"""model=pretrained: random checkpoints of every family, saved with a probe tokenizer, load back with identical
logits and a truthful description; `hybrid-eval model=pretrained` evaluates one and its named baseline as is;
a bad directory is a one-line error (exit code 2 on the command line)."""
import json
import shutil
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.models import ModelConfigError
from hybrid_eval.models.pretrained import FALLBACK_CHAT_TEMPLATE
from hybrid_eval.models.tokenizer import build_probe_tokenizer, chat_ids
from tests.models.families import PATTERNS, RELEASED, cli_env, tiny

FAST = ["~experiment", "logger=none", "threads=1", "train.n_examples=20", "train.n_validation=2", "eval.n_test=4",
        "eval.max_new_tokens=4"]


def model_cfg(path, **kw):
    return OmegaConf.create({"family": "pretrained", "path": str(path), "baseline_path": None,
                             "trust_remote_code": False, "dtype": "auto", **kw})


@pytest.fixture(scope="module")
def tokenizer():
    return build_probe_tokenizer(["the", "key", "is", "what", "value", "one", "two", "three", "?", "."])


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tokenizer):
    """family -> directory of a random tiny checkpoint at the family's hybrid pattern, with the probe tokenizer."""
    root = tmp_path_factory.mktemp("checkpoints")
    out = {}
    for family, pattern in RELEASED.items():
        model = tiny(family, pattern, vocab_size=len(tokenizer))
        model.save_pretrained(root / family)
        tokenizer.save_pretrained(root / family)
        out[family] = root / family
    return out


@pytest.mark.parametrize("family", list(PATTERNS))
def test_each_family_loads_back_with_identical_logits_and_description(family, checkpoints, tokenizer):
    model, tok, info = models.load_pretrained(model_cfg(checkpoints[family]))
    original = tiny(family, RELEASED[family], vocab_size=len(tokenizer))
    x = torch.randint(1, len(tokenizer), (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x, use_cache=False).logits, original(x, use_cache=False).logits)
    assert info["family"] == family and info["pattern"] == RELEASED[family] and info["size"] == "pretrained"
    assert info["params"] == sum(p.numel() for p in original.parameters())
    assert info["layer_types"] == models.describe(original)["layer_types"]
    assert info["chat_template"] == "own" and tok.get_vocab() == tokenizer.get_vocab()
    msgs = [{"role": "user", "content": "what is the key ?"}]
    assert chat_ids(tok, msgs, add_generation_prompt=True) == chat_ids(tokenizer, msgs, add_generation_prompt=True)


def test_tokenizer_without_chat_template_gets_the_plain_fallback(checkpoints, tmp_path):
    d = tmp_path / "plain"
    shutil.copytree(checkpoints["qwen3_next"], d)
    (d / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    _, tok, info = models.load_pretrained(model_cfg(d))
    assert info["chat_template"] == "fallback" and tok.chat_template == FALLBACK_CHAT_TEMPLATE
    text = tok.apply_chat_template([{"role": "user", "content": "one"}], tokenize=False, add_generation_prompt=True)
    assert text == "user: one\nassistant:"


def _bin_only(src, dst):
    dst.mkdir()
    shutil.copy(src / "config.json", dst)
    shutil.copy(src / "tokenizer.json", dst)
    shutil.copy(src / "tokenizer_config.json", dst)
    torch.save({"w": torch.zeros(1)}, dst / "pytorch_model.bin")
    return dst


def test_bad_directories_are_one_line_errors_naming_path_and_need(checkpoints, tmp_path):
    src = checkpoints["qwen3_next"]
    no_config = tmp_path / "no_config"
    shutil.copytree(src, no_config)
    (no_config / "config.json").unlink()
    no_tok = tmp_path / "no_tok"
    no_tok.mkdir()
    for f in src.iterdir():
        if f.suffix in (".json", ".safetensors") and not f.name.startswith("tokenizer"):
            shutil.copy(f, no_tok)
    cases = [
        (model_cfg(tmp_path / "missing"), "is not a directory"),
        (model_cfg(no_config), "has no config.json"),
        (model_cfg(_bin_only(src, tmp_path / "bin")), "holds only PyTorch .bin weights; accepted: safetensors only"),
        (model_cfg(no_tok), "has no tokenizer"),
        (model_cfg(src, baseline_path=str(tmp_path / "missing")), "model.baseline_path="),
        (model_cfg(src, dtype="int3"), "model.dtype='int3'"),
        (OmegaConf.create({"family": "pretrained", "path": "???"}), "model.path is required"),
    ]
    for cfg, needle in cases:
        with pytest.raises(ModelConfigError) as err:
            models.validate(cfg)
        msg = str(err.value)
        assert needle in msg and "accepted" in msg and "\n" not in msg, msg
        if "path=" in needle or "directory" in needle or "config.json" in needle:
            assert "model.path=" in msg or "model.baseline_path=" in msg


def run_cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "hybrid_eval", *FAST, *args], capture_output=True, text=True,
                          cwd=cwd, env=cli_env())


def test_cli_evaluates_a_checkpoint_and_its_baseline_without_training(checkpoints, tmp_path):
    job = tmp_path / "job"
    out = run_cli(tmp_path, "model=pretrained", f"model.path={checkpoints['kimi_linear']}",
                  f"model.baseline_path={checkpoints['deepseek_v32']}", f"hydra.run.dir={job}")
    assert out.returncode == 0, out.stderr[-3000:]
    main, base = (json.loads((d / "results.json").read_text()) for d in (job, job / "baseline"))
    assert main["model"]["family"] == "kimi_linear" and main["model"]["pattern"] == "LLLF"
    assert base["model"]["family"] == "deepseek_v32" and base["model"]["pattern"] == "sparse"
    for res, path in ((main, checkpoints["kimi_linear"]), (base, checkpoints["deepseek_v32"])):
        assert res["model"]["size"] == "pretrained" and res["complete"] is True
        assert res["train"]["pretrained"] == str(path.resolve()) and res["train"]["steps"] is None
        assert set(res["tasks"]) == {"one_fact_qa", "mqar", "fact_recall"}
    assert not (job / "checkpoint").exists()  # nothing trained, nothing saved
    # the two share every test example, so gaps can pair them
    keys = [{(s["task"], s["id"], s["prompt_hash"]) for s in map(json.loads, (d / "samples.jsonl").read_text().splitlines())}
            for d in (job, job / "baseline")]
    assert keys[0] == keys[1] and len(keys[0]) == 12
    # ... and they do: the report pairs the checkpoint with its named baseline
    from hybrid_eval.harness.analysis import gaps

    g = gaps.compute(gaps.load_jobs(job))
    (entry,) = g["variants"].values()
    assert entry["baseline_job"] == "job/baseline"
    for alias, t in entry["tasks"].items():
        scores = {d: {s["id"]: s["score"] for s in map(json.loads, (d / "samples.jsonl").read_text().splitlines())
                      if s["task"] == alias} for d in (job, job / "baseline")}
        expect = sum(scores[job / "baseline"][i] - scores[job][i] for i in scores[job]) / len(scores[job])
        assert t["gap"] == pytest.approx(expect)


@pytest.mark.parametrize("kind", ["bin_only", "missing"])
def test_cli_bad_directory_exits_2_with_one_line(kind, checkpoints, tmp_path):
    path = _bin_only(checkpoints["qwen3_next"], tmp_path / "bin") if kind == "bin_only" else tmp_path / "nowhere"
    out = run_cli(tmp_path, "model=pretrained", f"model.path={path}", f"hydra.run.dir={tmp_path / 'job'}")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hybrid-eval: error: model.path='{path}'"), out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_device_map_auto_loads_through_accelerate_with_identical_logits(checkpoints, tokenizer):
    """model.device_map=auto places the layers with accelerate (here: every module on the CPU, the only device);
    on a GPU host it spreads them over the GPUs (docs/endpoints.md). The logits are those of a plain load."""
    family = "qwen3_next"
    plain, _, _ = models.load_pretrained(model_cfg(checkpoints[family]))
    placed, _, info = models.load_pretrained(model_cfg(checkpoints[family], device_map="auto"))
    assert info["device_map"] == {"cpu": info["params"]}
    x = torch.randint(1, len(tokenizer), (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(placed(x, use_cache=False).logits, plain(x, use_cache=False).logits)
    with pytest.raises(ModelConfigError, match="model.device_map='everywhere' is not valid; accepted: null"):
        models.validate(model_cfg(checkpoints[family], device_map="everywhere"))


@pytest.mark.gpu
def test_device_map_auto_spreads_over_the_gpus(checkpoints):
    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 GPUs")
    _, _, info = models.load_pretrained(model_cfg(checkpoints["qwen3_next"], device_map="balanced"))
    assert len([d for d in info["device_map"] if d != "cpu"]) >= 2
