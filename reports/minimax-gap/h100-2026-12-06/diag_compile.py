"""Does a new sequence length cost a recompile? First and second fwd+bwd time of gated delta via fla's KDA kernels."""
import time, torch, torch.nn.functional as F
from hybrid_eval.kernels.gated_delta import gated_delta_as_kda
def inputs(B, T):
    q = F.normalize(torch.randn(B, T, 8, 64, device="cuda"), dim=-1).bfloat16().requires_grad_()
    k = F.normalize(torch.randn(B, T, 8, 64, device="cuda"), dim=-1).bfloat16().requires_grad_()
    v = torch.randn(B, T, 8, 64, device="cuda").bfloat16().requires_grad_()
    g = (-F.softplus(torch.randn(B, T, 8, device="cuda"))).requires_grad_()
    b = torch.sigmoid(torch.randn(B, T, 8, device="cuda")).requires_grad_()
    return q, k, v, g, b
def once(B, T):
    xs = inputs(B, T); torch.cuda.synchronize(); t = time.time()
    o, _ = gated_delta_as_kda(*xs, 0.125, None, False); o.float().sum().backward(); torch.cuda.synchronize()
    return time.time() - t
for B, T in [(8, 512), (8, 512), (8, 520), (8, 600), (8, 601), (8, 777), (8, 1024), (4, 600), (2, 600), (1, 600), (3, 333)]:
    print(f"B={B} T={T}: {once(B, T):.2f} s", flush=True)
