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
