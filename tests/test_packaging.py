"""Installing the project must not change what transformers detects: our `kernels` package is not HF's."""
import subprocess
import sys


def test_transformers_does_not_mistake_our_kernels_for_hub_kernels():
    code = (
        "from transformers.utils import import_utils as iu\n"
        "assert not iu.is_kernels_available(), 'transformers thinks hub kernels are installed'\n"
        "from transformers import Qwen3NextForCausalLM\n"
        "import kernels, harness, models, tasks\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_a_wheel_install_carries_the_configs(tmp_path):
    """A non-editable install finds conf/ as harness/conf (Hydra's config dir) from any working directory."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(root)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    code = "from harness.__main__ import config_dir; print(config_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": __import__("os").environ["PATH"]})
    assert out.returncode == 0, out.stderr[-2000:]
    conf = __import__("pathlib").Path(out.stdout.strip())
    assert conf == target / "harness" / "conf"
    assert {p.stem for p in (conf / "model").glob("*.yaml")} >= {"qwen3_next", "kimi_linear", "minimax", "deepseek_v32"}
    assert (conf / "experiment" / "quick.yaml").is_file()
