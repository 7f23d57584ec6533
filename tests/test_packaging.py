"""The installed project has one importable name, `hybrid_eval`, and leaves every other name to its dependencies.

Until 2026-12 the project installed top-level `kernels`, `models`, `tasks` and `harness` packages; transformers 5.25
requires Hugging Face's `kernels` distribution, and whichever `kernels` came first on sys.path broke the other
(the project's jobs, or transformers itself). These tests run in the environment the README's install makes (CI's
fresh venv, with whatever versions were newest that day) and would have caught it: Hugging Face's `kernels` is
importable as itself, every module of the package imports from the repository root and from elsewhere, a saved
probe loads with plain `AutoModelForCausalLM.from_pretrained` (no `USE_HUB_KERNELS` set), and `pip check` is clean.
"""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERIC = ("kernels", "models", "tasks", "harness", "benchmarks", "experiments", "conf", "tests")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("USE_HUB_KERNELS", "PYTHONPATH")}
    return {**env, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -c code` in a fresh interpreter: with `-c`, the working directory comes first on sys.path."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=600)


PLUGIN = "hydra_plugins"  # Hydra's plugin namespace (no __init__.py of ours): holds only hybrid_eval_launcher


def test_the_distribution_installs_only_hybrid_eval_at_the_top_level():
    dist = importlib.metadata.distribution("hybrid-eval")
    top = set((dist.read_text("top_level.txt") or "").split())
    assert top <= {"hybrid_eval", PLUGIN} and "hybrid_eval" in top, top


@pytest.mark.parametrize("where", ["repository root", "elsewhere"])
def test_every_module_imports_and_generic_names_stay_free(where, tmp_path):
    """From the repository root too: `python -m pytest` and `python -c` put the working directory first on sys.path,
    so a top-level folder of ours named like a dependency's package would shadow it there."""
    code = f"""
import importlib, importlib.util, pkgutil
import hybrid_eval
failed = []
for m in pkgutil.walk_packages(hybrid_eval.__path__, "hybrid_eval."):
    try:
        importlib.import_module(m.name)
    except Exception as e:
        failed.append(f"{{m.name}}: {{type(e).__name__}}: {{e}}")
assert not failed, failed
from pathlib import Path
for name in {GENERIC!r}:  # found, if at all, on some sys.path entry other than the repository root (the CI venv
    spec = importlib.util.find_spec(name)  # lives inside the repository: its site-packages is fine)
    if spec and spec.has_location:
        origin = Path(spec.origin)
        entry = origin.parents[1] if origin.name == "__init__.py" else origin.parent
        assert entry != Path({str(ROOT)!r}), (name, str(origin))
print(len(list(pkgutil.walk_packages(hybrid_eval.__path__, "hybrid_eval."))))
"""
    out = _python(code, ROOT if where == "repository root" else tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) > 60  # every module was walked, not an empty package


def test_hugging_face_kernels_is_the_kernels_that_transformers_imports():
    """transformers >= 5.25 requires Hugging Face's `kernels`; where it is installed, `import kernels` must give it,
    from the repository root as from anywhere, and transformers must see it as available."""
    try:
        importlib.metadata.distribution("kernels")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("Hugging Face's kernels is not installed with this transformers")
    code = """
import kernels
from transformers.utils import import_utils as iu
import hybrid_eval.models, hybrid_eval.kernels
assert hasattr(kernels, "get_kernel"), kernels.__file__
assert iu.is_kernels_available()
assert hybrid_eval.kernels.gated_delta is not None
print(kernels.__file__)
"""
    out = _python(code, ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert Path(out.stdout.strip()).parents[1] != ROOT, out.stdout  # not a `kernels/` folder at the repository root


@pytest.mark.parametrize("with_package", [False, True], ids=["plain transformers", "after import hybrid_eval.models"])
def test_a_saved_probe_loads_with_from_pretrained_and_gives_the_same_logits(with_package, tmp_path):
    """What `lm_eval --model hf` and `model=pretrained` do: no USE_HUB_KERNELS, no project code unless imported."""
    import torch
    from omegaconf import OmegaConf

    from hybrid_eval import models
    from hybrid_eval.models.tokenizer import build_probe_tokenizer

    tokenizer = build_probe_tokenizer({"alpha", "beta", "gamma", "delta"})
    dirs = {}
    for family, pattern in (("qwen3_next", "LLLF"), ("kimi_linear", "LLLF"), ("minimax", "LLLLLLLF"),
                            ("deepseek_v32", "sparse")):
        model, _ = models.build(OmegaConf.create({"family": family, "pattern": pattern, "size": "tiny"}), tokenizer)
        path = tmp_path / family
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        ids = torch.tensor([[3, 4, 5, 6, 7, 4, 5]])
        with torch.no_grad():
            torch.save(model.eval()(input_ids=ids).logits, path / "logits.pt")
        dirs[family] = str(path)
    code = f"""
import torch
{"import hybrid_eval.models" if with_package else ""}
from transformers import AutoModelForCausalLM, AutoTokenizer
for family, path in {dirs!r}.items():
    model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).eval()
    AutoTokenizer.from_pretrained(path)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[3, 4, 5, 6, 7, 4, 5]])).logits
    err = (logits - torch.load(path + "/logits.pt")).abs().max().item()
    assert err < 1e-4, (family, err)
print("ok")
"""
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_pip_check_finds_no_broken_requirement():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_wheel_holds_only_hybrid_eval_and_carries_the_configs(tmp_path):
    """A non-editable install (a wheel) finds conf/ as hybrid_eval/conf from any working directory. Built from a copy
    of the tracked tree, so a stale build/ folder of an earlier layout cannot leak into the wheel."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "src"
    for f in files:
        if f.startswith(("hybrid_eval/", "conf/")) or f in ("pyproject.toml", "setup.py", "README.md"):
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            (src / f).write_bytes((ROOT / f).read_bytes())
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("hybrid_eval-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"hybrid_eval", PLUGIN,
                                               f"hybrid_eval-{importlib.metadata.version('hybrid-eval')}.dist-info"}
    assert {n for n in names if n.startswith(PLUGIN)} == {f"{PLUGIN}/hybrid_eval_launcher/__init__.py"}  # namespace kept
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = "from hybrid_eval import config_dir; print(config_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": os.environ["PATH"]})
    assert out.returncode == 0, out.stderr[-2000:]
    conf = Path(out.stdout.strip())
    assert conf == target / "hybrid_eval" / "conf"
    assert {p.stem for p in (conf / "model").glob("*.yaml")} >= {"qwen3_next", "kimi_linear", "minimax", "deepseek_v32"}
    assert (conf / "experiment" / "quick.yaml").is_file()
    code = "from hydra_plugins.hybrid_eval_launcher import PackLauncher; print(PackLauncher.__mro__[1].__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": os.environ["PATH"]})
    assert out.stdout.strip() == "hybrid_eval.harness.launch.pack", out.stderr[-2000:]


@pytest.mark.parametrize("script,args,code,says", [
    ("hybrid-eval-tasks", [], 0, "mqar               long_context  n_pairs=8"),  # the listing, knobs with defaults
    ("hybrid-eval-models", ["--help"], 0, "usage: hybrid-eval-models"),
    ("hybrid-eval-report", ["/no/such/sweep"], 2, "hybrid-eval-report: error: '/no/such/sweep' is not a directory"),
    ("hybrid-eval-headline", ["/no/such/sweep"], 2, "hybrid-eval-headline: error: '/no/such/sweep' is not a directory"),
    ("hybrid-eval-export-lm-eval", [], 2, "hybrid-eval-export-lm-eval: error: usage: hybrid-eval-export-lm-eval OUT_DIR"),
    ("hybrid-eval", ["--help"], 0, "hybrid-eval"),
    ("hybrid-eval-serve", ["/no/such/ckpt"], 2, "hybrid-eval-serve: error: CHECKPOINT='/no/such/ckpt' is not a directory"),
])
def test_every_console_script_runs_from_outside_the_repository(script, args, code, says, tmp_path):
    """The commands the README lists, as installed console scripts, from a directory that is not the repository."""
    (entry,) = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == script]
    assert entry.value.startswith("hybrid_eval.")
    exe = Path(sys.executable).parent / script
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=300)
    assert out.returncode == code, out.stderr[-2000:]
    assert says in out.stdout + out.stderr
