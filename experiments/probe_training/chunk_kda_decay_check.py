"""Section 10. fla chunk_kda (forward + backward) against fla's fp32 naive recurrence, with the per-token log decay g held at c
in every channel (and a random spread around it). Prints, for each c, whether outputs/gradients are finite and the
max abs error of o and dq vs the reference. Question: from which per-token decay does the chunk kernel break?"""
import torch
from fla.ops.kda import chunk_kda
from fla.ops.kda.naive import naive_recurrent_kda

torch.manual_seed(0)
B, T, H, K, V = 2, 256, 4, 64, 64
dev = "cuda"
rows = []
for mode in ("const", "mixed"):
    for c in [-0.5, -2.0, -4.0, -5.0, -6.0, -8.0, -12.0, -20.0, -50.0]:
        q = torch.randn(B, T, H, K, device=dev)
        k = torch.nn.functional.normalize(torch.randn(B, T, H, K, device=dev), dim=-1)
        v = torch.randn(B, T, H, V, device=dev)
        beta = torch.rand(B, T, H, device=dev).sigmoid()
        if mode == "const":
            g = torch.full((B, T, H, K), c, device=dev)
        else:  # one channel in 8 at c, the rest slow
            g = torch.full((B, T, H, K), -0.05, device=dev)
            g[..., ::8] = c
        do = torch.randn(B, T, H, V, device=dev)
        res = {}
        for name in ("chunk", "naive"):
            qq, kk, vv, gg, bb = [x.clone().requires_grad_(True) for x in (q, k, v, g, beta)]
            if name == "chunk":
                o, _ = chunk_kda(qq.bfloat16(), kk.bfloat16(), vv.bfloat16(), gg, bb.bfloat16(), scale=K ** -0.5)
            else:
                o, _ = naive_recurrent_kda(qq.double(), kk.double(), vv.double(), gg.double(), bb.double(), scale=K ** -0.5)
            (o.float() * do).sum().backward()
            res[name] = (o.float().detach(), qq.grad, kk.grad, gg.grad)
        (o1, dq1, dk1, dg1), (o2, dq2, _, dg2) = res["chunk"], res["naive"]
        fin = lambda *xs: all(bool(torch.isfinite(x).all()) for x in xs)
        err = lambda a, b: float((a.float() - b.float()).abs().max()) if fin(a) else float("nan")
        rows.append((mode, c, fin(o1), fin(dq1, dk1, dg1), err(o1, o2), err(dq1, dq2), err(dg1, dg2), float(o2.abs().max())))
print(f"{'g':>6} {'per-token g':>11} {'o finite':>9} {'grads finite':>12} {'max|do|':>9} {'max|ddq|':>9} {'max|ddg|':>9} {'max|o_ref|':>10}")
for r in rows:
    print(f"{r[0]:>6} {r[1]:>11} {str(r[2]):>9} {str(r[3]):>12} {r[4]:>9.3g} {r[5]:>9.3g} {r[6]:>9.3g} {r[7]:>10.3g}")
