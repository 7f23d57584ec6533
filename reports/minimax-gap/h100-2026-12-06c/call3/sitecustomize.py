# NaN origin finder (diagnosis only): global forward / backward hooks print the first module per pass whose inputs
# are finite and whose outputs are not.
import os
if os.environ.get("NAN_HUNT"):
    import torch
    state = {"fwd": 0, "bwd": 0}

    def _bad(x):
        if isinstance(x, torch.Tensor):
            return x.is_floating_point() and not torch.isfinite(x).all().item()
        if isinstance(x, (tuple, list)):
            return any(_bad(y) for y in x)
        if isinstance(x, dict):
            return any(_bad(y) for y in x.values())
        return False

    def _desc(x):
        if isinstance(x, torch.Tensor):
            return f"{tuple(x.shape)}:{x.dtype}:nonfinite={int((~torch.isfinite(x)).sum()) if x.is_floating_point() else 0}"
        if isinstance(x, (tuple, list)):
            return "[" + ", ".join(_desc(y) for y in x[:4]) + "]"
        return type(x).__name__

    def fwd(module, args, kwargs, out):
        if state["fwd"] < 6 and _bad(out) and not _bad(args) and not _bad(kwargs):
            state["fwd"] += 1
            mask = kwargs.get("attention_mask")
            extra = ""
            if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and mask.dim() == 4:
                extra = f" mask {tuple(mask.shape)} fully-masked rows={int((~mask.any(-1)).sum())}"
            print(f"NAN-HUNT forward: {type(module).__name__} in={_desc(args)} out={_desc(out)}{extra}", flush=True)

    def bwd(module, grad_input, grad_output):
        if state["bwd"] < 6 and _bad(grad_input) and not _bad(grad_output):
            state["bwd"] += 1
            print(f"NAN-HUNT backward: {type(module).__name__} grad_out={_desc(grad_output)} grad_in={_desc(grad_input)}",
                  flush=True)

    torch.nn.modules.module.register_module_forward_hook(fwd, with_kwargs=True)
    torch.autograd.set_detect_anomaly(True, check_nan=True)  # the op whose backward makes the first NaN, with its forward trace
