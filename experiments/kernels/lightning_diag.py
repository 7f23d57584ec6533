"""Where does fla's chunk_simple_gla (our lightning 'fla' backend) differ from our torch backend? fp32, B=2, H=4.

    python experiments/kernels/lightning_diag.py      # on a CUDA machine with flash-linear-attention (reports/kernels/README.md)
"""
import sys
from pathlib import Path

import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "kernels"))  # the kernel tests' input makers
from test_lightning import make  # noqa: E402
from kernel_inputs import relative_error  # noqa: E402
from hybrid_eval import kernels  # noqa: E402

print("T init decays | o_err s_err")
for T in (64, 65, 66, 80, 127, 128, 129, 130, 200, 1000, 1025):
    for init in (True, False):
        for dec in ("test", "minimax"):
            q, k, v, decay, s0 = make(2, T, 4, 64, 64, seed=8, device="cuda")
            if dec == "minimax":
                decay = decay.clone(); decay[:2] = decay[2:4]
            kw = dict(scale=1.0, initial_state=s0 if init else None, output_final_state=True)
            o, s = kernels.lightning(q, k, v, decay, backend="fla", **kw)
            ot, st = kernels.lightning(q, k, v, decay, backend="torch", **kw)
            per_t = (o - ot).abs().amax(dim=(0, 2, 3)) / ot.abs().max()
            worst = int(per_t.argmax())
            print(f"{T:5d} {init!s:5} {dec:7} | {relative_error(o, ot):.2e} {relative_error(s, st):.2e} worst t={worst}", flush=True)
