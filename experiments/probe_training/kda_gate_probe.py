"""`python3 experiments/probe_training/kda_gate_probe.py <harness overrides>` (section 10): a harness job with probes on Kimi Linear's KDA layers.

Every training forward keeps, per KDA call (no sync), the smallest per-token log decay g, the smallest sum of g over
16 consecutive tokens (fla's sub-chunk) and whether the kernel's output is finite. Every 50th step those are logged;
at the first non-finite gradient norm they are logged for the step that caused it, with the parameters whose
gradients are non-finite. Lines go to $KDA_LOG (JSON)."""
import json, os
import torch
from hybrid_eval import models  # noqa: F401  (binds Kimi Linear's KDA to kernels/)
from hybrid_eval.harness.train import loop
from hybrid_eval.kernels import backend as kernel_backend

LOG = open(os.environ.get("KDA_LOG", "kda_diag.jsonl"), "a")
state = {"calls": [], "step": 0, "names": {}, "reported": False}


def probe(op):
    def run(q, k, v, g, beta, scale, initial_state=None, output_final_state=False):
        out = op(q, k, v, g, beta, scale, initial_state, output_final_state)
        if torch.is_grad_enabled():
            with torch.no_grad():
                gf = g.float()
                cs = gf.cumsum(1)
                w16 = (cs[:, 16:] - cs[:, :-16]).min() if gf.shape[1] > 16 else cs[:, -1].min()
                state["calls"].append(torch.stack([gf.min(), w16, (gf < -5.9).float().mean(),
                                                   torch.isfinite(out[0]).all().float()]))
        return out
    return run


kda_functions = kernel_backend.registry.implementations["kda"]  # {backend: function}, looked up per call by dispatch
if torch.cuda.is_available():
    kernel_backend.registry.implement("kda", {"fla": probe(kda_functions["fla"])})
kernel_backend.registry.implement("kda", {"torch": probe(kda_functions["torch"])})  # the torch backend (CPU smoke test)
orig_clip = torch.nn.utils.clip_grad_norm_


def clip(params, max_norm, *a, **k):
    params = [p for p in params if p.grad is not None]
    finite = bool(torch.isfinite(torch.nn.utils.get_total_norm([p.grad for p in params])))
    # which gradients are non-finite must be read before clipping: it scales every gradient by the NaN norm
    bad = [] if finite else [state["names"].get(id(p), "?") for p in params if not torch.isfinite(p.grad).all()]
    norm = orig_clip(params, max_norm, *a, **k)
    state["step"] += 1
    calls, state["calls"] = state["calls"], []
    if calls and (state["step"] % 50 == 0 or (not finite and not state["reported"])):
        stats = torch.stack(calls).tolist()
        rec = {"step": state["step"], "grad_norm": float(norm),
               "layers": [{"g_min": round(s[0], 3), "g16_min": round(s[1], 3), "frac_below_-5.9": round(s[2], 6),
                           "out_finite": bool(s[3])} for s in stats]}
        if not finite:
            state["reported"] = True
            rec["nonfinite_grads"] = bad
        LOG.write(json.dumps(rec) + "\n"); LOG.flush()
    return norm


torch.nn.utils.clip_grad_norm_ = clip
orig_train = loop.train  # every training run, single or in a grid, goes through loop.train


def train(model, *a, **k):
    state["names"] = {id(p): n for n, p in model.named_parameters()}
    state["step"], state["reported"] = 0, False
    return orig_train(model, *a, **k)


loop.train = train

if __name__ == "__main__":
    from hybrid_eval.harness.cli import main
    main()
