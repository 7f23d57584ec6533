"""Smoke: `hybrid-eval model=<family> model.size=tiny train.max_steps=2` trains and evaluates every family (one
multirun, each family at its released hybrid pattern, so one process start serves all four), and the two
sliding-window presets (`model.preset=gdn_h1,minimax_swa`) likewise."""
import json
import subprocess
import sys

from tests.models.families import cli_env

FAMILIES = {"qwen3_next": "LLLF", "kimi_linear": "LLLF", "minimax": "LLLLLLLF", "deepseek_v32": "sparse"}


def test_smoke_every_family_trains_and_evaluates_at_tiny(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "~experiment", f"model={','.join(FAMILIES)}", "model.size=tiny", "train.max_steps=2",
            "train.batch_size=4", "train.log_every=1", "train.n_examples=20", "train.n_validation=2", "eval.n_test=4",
            "eval.max_new_tokens=4", "logger=none", "threads=1", f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=${hydra.job.num}"]
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", *args], capture_output=True, text=True, cwd=tmp_path,
                         env=cli_env())
    assert out.returncode == 0, out.stderr[-4000:]
    seen = {}
    for job in sorted(d for d in sweep.iterdir() if (d / ".hydra").is_dir()):
        res = json.loads((job / "results.json").read_text())
        m = res["model"]
        seen[m["family"]] = m["pattern"]
        assert m["size"] == "tiny" and abs(m["param_ratio"] - 1) <= 0.05 and res["train"]["steps"] == 2
        assert (job / "checkpoint" / "config.json").exists()
    assert seen == FAMILIES


def test_smoke_sliding_window_presets_train_and_evaluate_at_tiny(tmp_path):
    # the bar: Gated DeltaNet-H1 and MiniMax's sliding-window hybrid run like every other variant
    sweep = tmp_path / "sweep"
    args = ["-m", "~experiment", "model.preset=gdn_h1,minimax_swa", "model.size=tiny", "model.window=16",
            "train.max_steps=2", "train.batch_size=4", "train.n_examples=20", "train.n_validation=2", "eval.n_test=4",
            "eval.max_new_tokens=4", "logger=none", "threads=1", f"hydra.sweep.dir={sweep}",
            "hydra.sweep.subdir=${hydra.job.num}"]
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", *args], capture_output=True, text=True, cwd=tmp_path,
                         env=cli_env())
    assert out.returncode == 0, out.stderr[-4000:]
    seen = {}
    for job in sorted(d for d in sweep.iterdir() if (d / ".hydra").is_dir()):
        m = json.loads((job / "results.json").read_text())["model"]
        seen[m["preset"]] = (m["family"], m["pattern"], m["window"])
        assert abs(m["param_ratio"] - 1) <= 0.05 and "sliding_attention" in m["layer_types"]
    assert seen == {"gdn_h1": ("qwen3_next", "LS", 16), "minimax_swa": ("minimax", "SSSSSSSF", 16)}
    assert (sweep / "report.md").exists()
