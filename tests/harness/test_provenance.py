"""Provenance (hybrid_eval/harness/provenance.py): the commit and dirty flag of this checkout as git reports them, the
installed versions of the packages that compute a result, and the hardware."""
import subprocess
from importlib import metadata

import torch

from hybrid_eval.harness import provenance as prov
from tests.conftest import ROOT


def test_provenance_names_this_checkout_and_these_packages():
    p = prov.provenance(torch.device("cpu"))
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout (CI's and ours); an installed wheel has none
        status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True).stdout
        assert p["git"] == {"commit": head.stdout.strip(), "dirty": bool(status.strip())}
    assert p["packages"]["torch"] == torch.__version__ and p["packages"]["transformers"] == metadata.version("transformers")
    assert p["packages"]["hybrid-eval"] == metadata.version("hybrid-eval")
    assert set(p["packages"]) == set(prov.PACKAGES)
    hw = p["hardware"]
    assert hw["device"] == "cpu" and hw["cpu_count"] >= 1 and hw["python"].count(".") == 2
    assert len(hw["gpus"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
