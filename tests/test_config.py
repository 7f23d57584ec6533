"""Every config under conf/ composes; bad overrides end in one line, exit code 2, no traceback."""
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import CONF, ROOT, compose_config

GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")


@pytest.mark.parametrize("group,option", [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))])
def test_every_config_file_composes(group, option):
    served = (group, option) in (("model", "pretrained"), ("model", "endpoint"))  # evaluated as is: no pattern sweep
    overrides = [f"{group}={option}"] + (["~experiment"] if served else [])
    cfg = compose_config(overrides)
    assert cfg.suite.tasks and cfg.train.max_steps > 0 and cfg.eval.n_test > 0
    if (group, option) == ("model", "endpoint"):
        assert cfg.model.family == "endpoint" and {"base_url", "name", "api_key_env"} <= set(cfg.model.keys())
    if group == "model" and not served:
        assert cfg.model.family and cfg.model.pattern and cfg.model.size
    if (group, option) == ("model", "pretrained"):
        assert cfg.model.family == "pretrained" and "path" in cfg.model.keys()


def test_default_experiment_is_the_quick_sweep():
    cfg = compose_config()
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.hydra.sweeper.params["model.pattern"] == "F,LLLF,L"
    assert cfg.model.family == "qwen3_next" and cfg.model.size == "small" and cfg.suite.name == "smoke"
    assert (cfg.train.max_steps, cfg.train.warmup_steps) == (400, 100)


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "hybrid_eval", *args], capture_output=True, text=True, cwd=cwd,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


BAD_OVERRIDES = [
    ("model.family=gpt5", "model.family 'gpt5'"),
    ("model.pattern=FXL", "model.pattern='FXL'"),
    ("model.size=huge", "model.size='huge'"),
    ("suite.tasks=[{name: nope}]", "unknown task 'nope'"),
    ("device=tpu", "device='tpu'"),
    ("kernels.backend=triton", "kernels.backend='triton'"),
    ("kernels.backend=fla", "kernels.backend=fla needs a CUDA device"),
]


@pytest.fixture(scope="module")
def bad_override_runs(tmp_path_factory):
    """Every bad override's CLI run, three processes at a time (each spends its seconds importing torch)."""
    def run(case):
        i, (override, _) = case
        d = tmp_path_factory.mktemp(f"bad{i}")
        return override, run_cli("~experiment", "logger=none", override, f"hydra.run.dir={d}", cwd=d)

    with ThreadPoolExecutor(3) as pool:
        return dict(pool.map(run, enumerate(BAD_OVERRIDES)))


@pytest.mark.parametrize("override,needle", BAD_OVERRIDES)
def test_bad_override_is_one_clear_line(override, needle, bad_override_runs):
    out = bad_override_runs[override]
    assert out.returncode == 2, out.stderr[-3000:]
    err = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and needle in err[0], out.stderr
    assert any(word in err[0] for word in ("accepted", "registered", "use auto")), out.stderr
    assert "Traceback" not in out.stderr
