"""Benchmarks of the linear-attention ops: prints a table and writes JSON (STYLE.md: every speed claim comes
from here, run on named hardware, beside its baseline in the same run).

    python benchmarks/bench_kernels.py --cpu                 # CPU: our torch gated delta rule vs transformers' torch path
    python benchmarks/bench_kernels.py                       # GPU: every op x backend at T = 2k..128k beside causal SDPA

CPU mode times ``kernels.gated_delta(backend="torch")`` against transformers' ``torch_chunk_gated_delta_rule``
(the fallback Qwen3-Next runs without fla; ``use_qk_l2norm_in_kernel=False``, same inputs) and, as a second
baseline, our KDA against transformers' ``chunk_kimi_delta_attention``, forward and forward+backward, with
two gate regimes: "mild" (log-sigmoid of U(0, 1), fla's benchmark convention, decay 0.5-0.73 per token) and
"init" (about e^-10 per token at the median, what Qwen3-Next's default init gives, docs/design.md §4). Runs are interleaved and
the minimum wall time of ``--repeats`` is kept, because the CPU is shared.

GPU mode times forward and forward+backward with CUDA events (median of ``--repeats``) in bfloat16, H = 16,
D = 128, for ``torch`` and ``fla`` backends of every op, for flash-linear-attention's own functions called
directly (``fla-direct``: the dispatch overhead of our ``fla`` backend is the ratio of the two), and for
``F.scaled_dot_product_attention(is_causal=True)``; a case that runs out of memory or that fla refuses (e.g. its
Hopper backward, see ``kernels.backend.fla_backward_ok``) is recorded as skipped with the reason, and the run
goes on. It then times whole-model prefill (the backbone, batch 1, bf16, no cache) of the ``F``, released hybrid
and ``L`` probes of each family with a kernel binding (``model_patterns()``, from ``models.FAMILIES``) at
``--model-size``, through our binding (hybrid_eval/models/binding.py, backend auto) and through transformers'
default kernels (``models.binding.transformers_default``), in tokens/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from hybrid_eval import kernels

CPU_OUT = "reports/kernels/cpu.json"
GPU_OUT = "reports/kernels/gpu.json"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def delta_inputs(B, T, H, D, gates, per_channel=False, device="cpu", dtype=torch.float32, seed=0):
    """q, k L2-normalised; v normal; beta sigmoid; g by regime ("mild" or "init"), [B,T,H] or [B,T,H,D]."""
    gen = torch.Generator().manual_seed(seed)
    shape = (B, T, H, D) if per_channel else (B, T, H)
    q = F.normalize(torch.randn(B, T, H, D, generator=gen), dim=-1)
    k = F.normalize(torch.randn(B, T, H, D, generator=gen), dim=-1)
    v = torch.randn(B, T, H, D, generator=gen)
    beta = torch.sigmoid(torch.randn(B, T, H, generator=gen))
    if gates == "mild":
        g = F.logsigmoid(torch.rand(shape, generator=gen))
    else:  # Qwen3-Next default init: -A * softplus(a + 1) with A ~ U(0, 16), a ~ 0: about -13 per token
        A = torch.empty(shape).uniform_(0.01, 16, generator=gen)
        g = -A * F.softplus(1 + 0.1 * torch.randn(shape, generator=gen))
    tensors = [q.to(dtype), k.to(dtype), v.to(dtype), g, beta.to(dtype)]
    return [t.to(device) for t in tensors]


def cpu_time(fn: Callable[[], None], repeats: int) -> list[float]:
    """Wall times in ms of ``repeats`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def forward_backward(fn: Callable, inputs: list[torch.Tensor]) -> Callable[[], None]:
    def run():
        xs = [x.detach().requires_grad_(True) for x in inputs]
        o, _ = fn(*xs)
        o.float().sum().backward()

    return run


def forward_only(fn: Callable, inputs: list[torch.Tensor]) -> Callable[[], None]:
    def run():
        with torch.no_grad():
            fn(*inputs)

    return run


def run_cpu(args) -> dict:
    from transformers.models.kimi_linear.modeling_kimi_linear import chunk_kimi_delta_attention
    from transformers.models.qwen3_next.modeling_qwen3_next import torch_chunk_gated_delta_rule

    if args.threads:
        torch.set_num_threads(args.threads)
    B, T, H, D = args.batch, args.length, args.heads, args.head_dim
    cases = [
        ("gated_delta", False, lambda *x: kernels.gated_delta(*x, backend="torch"),
         lambda *x: torch_chunk_gated_delta_rule(*x, use_qk_l2norm_in_kernel=False)),
        ("kda", True, lambda *x: kernels.kda(*x, backend="torch"),
         lambda *x: chunk_kimi_delta_attention(*x, use_qk_l2norm_in_kernel=False)),
    ]
    rows = []
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"B={B} T={T} H={H} D={D} float32; min of {args.repeats} interleaved runs")
    header = f"{'op':12s} {'gates':5s} {'pass':8s} {'ours ms':>9s} {'transformers ms':>16s} {'speed-up':>9s}"
    print(header + "\n" + "-" * len(header))
    for op, per_channel, ours, theirs in cases:
        if op not in args.ops:
            continue
        for gates in args.gates:
            inputs = delta_inputs(B, T, H, D, gates, per_channel)
            for mode, wrap in (("fwd", forward_only), ("fwd+bwd", forward_backward)):
                run_ours, run_theirs = wrap(ours, inputs), wrap(theirs, inputs)
                run_ours(), run_theirs()  # warm-up
                t_ours, t_theirs = [], []
                for _ in range(args.repeats):  # interleaved, so load from other users hits both alike
                    t_ours += cpu_time(run_ours, 1)[-1:]
                    t_theirs += cpu_time(run_theirs, 1)[-1:]
                row = dict(op=op, gates=gates, pass_=mode, B=B, T=T, H=H, D=D, ours_ms=min(t_ours),
                           transformers_ms=min(t_theirs), speedup=min(t_theirs) / min(t_ours))
                rows.append(row)
                print(f"{op:12s} {gates:5s} {mode:8s} {row['ours_ms']:9.1f} {row['transformers_ms']:16.1f} "
                      f"{row['speedup']:8.2f}x", flush=True)
    return dict(
        mode="cpu",
        hardware=dict(cpu=cpu_name(), cores=os.cpu_count(), threads=torch.get_num_threads(),
                      torch=torch.__version__, python=platform.python_version(),
                      transformers=__import__("transformers").__version__),
        rows=[{("pass" if k == "pass_" else k): v for k, v in r.items()} for r in rows],
    )


def gpu_time(fn: Callable[[], None], repeats: int) -> float:
    """Median ms over ``repeats`` runs timed with CUDA events, after one warm-up (compiles, autotunes)."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def _gated_delta_torch_backward(*a):
    from hybrid_eval.kernels.backends import fla as fla_backend

    previous, fla_backend.GATED_DELTA_ROUTE = fla_backend.GATED_DELTA_ROUTE, None  # read when the call is dispatched
    try:
        return kernels.gated_delta(*a[:5], initial_state=a[5], backend="fla")
    finally:
        fla_backend.GATED_DELTA_ROUTE = previous


def gpu_cases(B, T, H, D, dtype):
    """(name, backend, fn, inputs) for every op x backend and SDPA, inputs on CUDA in ``dtype``."""
    dev = "cuda"
    q, k, v, g, beta = delta_inputs(B, T, H, D, "mild", device=dev, dtype=dtype)
    gk = F.logsigmoid(torch.rand(B, T, H, D, device=dev))
    s0 = torch.zeros(B, H, D, D, device=dev)
    decay = 2.0 ** (-8.0 * (torch.arange(H, device=dev) + 1) / H)
    x = torch.randn(B, T, 3 * H * D, device=dev, dtype=dtype)  # Qwen3-Next convolves q, k, v together
    w = torch.randn(3 * H * D, 4, device=dev, dtype=dtype) * 0.5
    cases = []
    for backend in ("torch", "fla"):
        cases += [
            ("gated_delta", backend, lambda *a, b=backend: kernels.gated_delta(*a[:5], initial_state=a[5], backend=b),
             [q, k, v, g, beta, s0]),
            ("kda", backend, lambda *a, b=backend: kernels.kda(*a[:5], initial_state=a[5], backend=b),
             [q, k, v, gk, beta, s0]),
            ("lightning", backend, lambda *a, b=backend: kernels.lightning(*a[:3], decay, scale=1.0, backend=b),
             [q, k, v]),
            ("short_conv", backend, lambda *a, b=backend: kernels.short_conv(*a, activation="silu", backend=b),
             [x, w]),
        ]
    # the gated delta rule's other route where fla refuses its backward (Hopper, Triton 3.4-3.7.0): fla's forward and
    # the torch backward, recomputed (the default there is fla's KDA kernels, "fla:kda"; kernels/backends/fla.py)
    cases.append(("gated_delta", "fla+torch_bwd", _gated_delta_torch_backward, [q, k, v, g, beta, s0]))
    cases += fla_direct_cases(q, k, v, g, gk, beta, s0, decay, x, w)
    qh, kh, vh = (t.transpose(1, 2) for t in (q, k, v))
    cases.append(("sdpa_causal", "torch", lambda *a: (F.scaled_dot_product_attention(*a, is_causal=True), None),
                  [qh, kh, vh]))
    return cases


def record(row: dict, key: str, measure: Callable[[], float]) -> None:
    """row[key] = measure(), or, when it runs out of memory or fla refuses, a one-line reason in row["skipped"]."""
    try:
        row[key] = measure()
    except torch.cuda.OutOfMemoryError:
        row["skipped"].append(f"{key}: out of memory")
    except (RuntimeError, ValueError, ImportError) as error:
        row["skipped"].append(f"{key}: {type(error).__name__}: {str(error).splitlines()[0][:160]}")
    finally:
        torch.cuda.empty_cache()


def fla_direct_cases(q, k, v, g, gk, beta, s0, decay, x, w):
    """flash-linear-attention 0.6.0's functions called directly on the same inputs, as our fla backend calls them
    for T > 64 (chunk kernels; q/k already normalised; lightning = chunk_simple_gla with g_gamma = -decay)."""
    if not kernels.fla_available():
        return []
    try:
        from fla.modules.causal_conv1d import causal_conv1d
    except ImportError:  # fla < 0.5
        from fla.modules.convolution import causal_conv1d
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    from fla.ops.kda import chunk_kda
    from fla.ops.simple_gla import chunk_simple_gla

    scale = q.shape[-1] ** -0.5
    return [
        ("gated_delta", "fla-direct", lambda *a: chunk_gated_delta_rule(*a[:5], scale=scale, initial_state=a[5]),
         [q, k, v, g, beta, s0]),
        ("kda", "fla-direct", lambda *a: chunk_kda(*a[:5], scale=scale, initial_state=a[5]), [q, k, v, gk, beta, s0]),
        ("lightning", "fla-direct", lambda *a: chunk_simple_gla(*a, g_gamma=-decay.float(), scale=1.0), [q, k, v]),
        ("short_conv", "fla-direct", lambda *a: (causal_conv1d(a[0], weight=a[1], activation="silu")[0], None), [x, w]),
    ]


def model_patterns() -> dict[str, list[str]]:
    """family -> [reference, released hybrid, all-linear] for every registered family whose `binding` routes layers
    through kernels/ (the others have nothing to compare), in the catalog's order."""
    from hybrid_eval import models

    return {name: [cls.reference_pattern, cls.released_pattern, "L"] for name, cls in models.FAMILIES.items()
            if cls.binding and "L" in cls.layer_names}  # deepseek_v32 binds only its S layers' window


def run_models(args, rows: list, save: Callable[[], None]) -> None:
    """Whole-model prefill tokens/s of each family's F / hybrid / L probe: our binding vs transformers' default."""
    from transformers import AutoModelForCausalLM

    from hybrid_eval import models
    from hybrid_eval.models.binding import transformers_default

    print(f"\nwhole-model prefill, {args.model_size}, batch 1, bf16, backbone only (no LM head, no cache)")
    header = f"{'family':12s} {'pattern':9s} {'T':>7s} {'ours tok/s':>11s} {'transformers tok/s':>19s} {'speed-up':>9s}  note"
    print(header + "\n" + "-" * len(header))
    for family, patterns in model_patterns().items():
        for pattern in patterns:
            config, _ = models.get_family(family).matched_config(pattern, args.model_size, vocab_size=32000,
                                                                 pad_token_id=0, max_position_embeddings=1 << 17)
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(config).to("cuda", torch.bfloat16).eval()
            for T in args.model_lengths:
                ids = torch.randint(1, 32000, (1, T), device="cuda")
                row = dict(family=family, pattern=pattern, size=args.model_size, T=T, ours_tok_s=None,
                           transformers_tok_s=None, skipped=[])

                def prefill():
                    with torch.no_grad():
                        model.model(input_ids=ids, use_cache=False)

                paths = (("ours_tok_s", contextlib.nullcontext), ("transformers_tok_s", transformers_default))
                for key, context in paths:
                    with context():
                        record(row, key, lambda: T / gpu_time(prefill, args.model_repeats) * 1e3)
                ours, theirs = row["ours_tok_s"], row["transformers_tok_s"]
                row["speedup"] = ours / theirs if ours and theirs else None
                rows.append(row)
                fmt = lambda t: f"{t:11.0f}" if t is not None else f"{'-':>11s}"  # noqa: E731
                ratio = f"{row['speedup']:8.2f}x" if row["speedup"] else f"{'-':>9s}"
                print(f"{family:12s} {pattern:9s} {T:7d} {fmt(ours)} {fmt(theirs):>19s} {ratio}  "
                      f"{'; '.join(row['skipped'])}", flush=True)
                save()
            del model
            torch.cuda.empty_cache()


def run_gpu(args, save: Callable[[dict], None]) -> dict:
    if not torch.cuda.is_available():
        sys.exit("GPU mode needs CUDA; use --cpu on a machine without a GPU.")
    dtype = torch.bfloat16
    H, D, B = args.heads or 16, args.head_dim, args.batch
    name = torch.cuda.get_device_name()
    ok, reason = kernels.fla_backward_ok("gated_delta")
    print(f"GPU: {name}, torch {torch.__version__}, fla available: {kernels.fla_available()}; "
          f"fla gated backward: {ok} ({reason}); B={B} H={H} D={D} bf16; median of {args.repeats}")
    header = f"{'op':12s} {'backend':8s} {'T':>7s} {'fwd ms':>9s} {'fwd+bwd ms':>11s}  note"
    print(header + "\n" + "-" * len(header))
    rows = []
    result = dict(
        mode="gpu",
        hardware=dict(gpu=name, torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(),
                      fla=_version("flash-linear-attention"), triton=_version("triton"),
                      fla_gated_backward=[ok, reason]),
        rows=rows,
    )
    for op_name, T in ((o, t) for o in args.ops for t in args.lengths):  # op by op: a cut run keeps whole ops
        for op, backend, fn, inputs in gpu_cases(B, T, H, D, dtype):
            if op != op_name:
                continue
            row = dict(op=op, backend=backend, B=B, T=T, H=H, D=D, dtype="bfloat16", fwd_ms=None, fwd_bwd_ms=None,
                       skipped=[])
            for key, wrap in (("fwd_ms", forward_only), ("fwd_bwd_ms", forward_backward)):
                record(row, key, lambda: gpu_time(wrap(fn, inputs), args.repeats))
            rows.append(row)
            fmt = lambda t: f"{t:9.2f}" if t is not None else f"{'-':>9s}"  # noqa: E731
            print(f"{op:12s} {backend:8s} {T:7d} {fmt(row['fwd_ms'])} {fmt(row['fwd_bwd_ms']):>11s}  "
                  f"{'; '.join(row['skipped'])}", flush=True)
            save(result)  # a long run cut short keeps what it measured
    if args.model_lengths:
        result["models"] = []
        run_models(args, result["models"], lambda: save(result))
    return result


def _version(package: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_kernels.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cpu", action="store_true", help="CPU mode (default: GPU mode)")
    parser.add_argument("--out", help=f"JSON output (default {CPU_OUT} or {GPU_OUT})")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--length", type=int, default=2048, help="CPU mode: sequence length")
    parser.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[2048, 8192, 32768, 131072], help="GPU mode: comma-separated op lengths ('' to skip)")
    parser.add_argument("--heads", type=int, default=None, help="heads (default: 4 on CPU, 16 on GPU)")
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--gates", type=lambda s: s.split(","), default=["mild", "init"], help="CPU mode: mild,init")
    parser.add_argument("--ops", type=lambda s: s.split(","),
                        default=["gated_delta", "kda", "lightning", "short_conv", "sdpa_causal"],
                        help="comma-separated ops (GPU mode also knows sdpa_causal)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 7 CPU, 5 GPU)")
    parser.add_argument("--model-lengths", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[2048, 32768], help="GPU mode: whole-model prefill lengths ('' to skip)")
    parser.add_argument("--model-size", default="base", help="GPU mode: probe size for whole-model prefill")
    parser.add_argument("--model-repeats", type=int, default=3, help="GPU mode: timed prefills per model case")
    parser.add_argument("--threads", type=int, default=0, help="CPU mode: torch threads (default: torch's)")
    args = parser.parse_args(argv)
    command = "python benchmarks/bench_kernels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out or (CPU_OUT if args.cpu else GPU_OUT))
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(result: dict) -> None:
        out.write_text(json.dumps(dict(command=command, **result), indent=2) + "\n")

    if args.cpu:
        args.heads = args.heads or 4
        args.repeats = args.repeats or 7
        save(run_cpu(args))
    else:
        args.repeats = args.repeats or 5
        save(run_gpu(args, save))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
