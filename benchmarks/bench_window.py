"""Sliding-window vs full causal attention prefill: one attention call over T tokens, timed per implementation;
prints a Markdown table and writes JSON (STYLE.md: every speed claim from a script, named hardware, baseline beside).

    python benchmarks/bench_window.py                  # GPU: T = 4k..64k, window 2048, bf16, H = 16, D = 128 (< 3 min)
    python benchmarks/bench_window.py --cpu            # CPU: tiny sizes (the test runs this), eager flex attention

Rows per T (batch 1, query heads = key heads = H, forward only: prefill):

- ``full sdpa``: ``F.scaled_dot_product_attention(is_causal=True)``, the flash kernel on CUDA: the `F` layer's cost;
- ``swa flex``: ``flex_attention`` with a sliding-window ``BlockMask`` (torch.nn.attention.flex_attention): blocks
  wholly outside the window are skipped, so its time grows as T x window instead of T^2 (compiled on CUDA);
- ``swa flash-attn``: ``flash_attn_func(window_size=(window - 1, 0))`` when flash-attn is installed (else skipped);
- ``swa sdpa mask``: SDPA with the window as a dense boolean (T, T) mask, what transformers' sdpa path runs for an
  `S` layer (models/window.py): every block is computed, so it costs what full attention costs, or more.

Every SWA output is checked against the dense-mask reference (``max_abs_err`` in the JSON), so a fast row is also a
correct one. Times: CUDA events, median of ``--repeats`` after a warm-up (which includes flex's compile); CPU:
the minimum of ``--repeats`` wall times. A case that runs out of memory or time (``--max-seconds``) is recorded as
skipped with the reason and the run goes on.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

GPU = {"contexts": (4096, 8192, 16384, 32768, 65536), "heads": 16, "head_dim": 128, "window": 2048,
       "dtype": "bfloat16", "repeats": 10}
CPU = {"contexts": (256, 512), "heads": 2, "head_dim": 16, "window": 64, "dtype": "float32", "repeats": 2}
DENSE_MASK_MAX = 32768  # the (T, T) boolean mask of `swa sdpa mask` is T^2 bytes: 1 GiB at 32k, 4 GiB at 64k
IMPLS = ("full sdpa", "swa flex", "swa flash-attn", "swa sdpa mask")


def window_mask(T: int, window: int, device) -> torch.Tensor:
    """(T, T) bool: query i sees keys i - window + 1 .. i (transformers' sliding_window_causal_mask_function)."""
    i = torch.arange(T, device=device)
    d = i[:, None] - i[None, :]
    return (d >= 0) & (d < window)


def flex_window(T: int, window: int, device, compiled: bool):
    """A callable (q, k, v) -> out running flex attention with a sliding-window block mask over T tokens."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    def sliding(b, h, q_idx, kv_idx):
        return (q_idx >= kv_idx) & (q_idx - kv_idx < window)

    # compiled, the block mask is built without materialising the (T, T) mask (4 GiB at 64k)
    block_mask = create_block_mask(sliding, B=None, H=None, Q_LEN=T, KV_LEN=T, device=str(device), _compile=compiled)
    fn = torch.compile(flex_attention, dynamic=False) if compiled else flex_attention
    return lambda q, k, v: fn(q, k, v, block_mask=block_mask)


def flash_window(window: int):
    """flash-attn's sliding-window kernel as (q, k, v) -> out in (B, H, T, D) layout, or None when not installed."""
    try:
        from flash_attn import flash_attn_func
    except ImportError:
        return None
    return lambda q, k, v: flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=True,
                                           window_size=(window - 1, 0)).transpose(1, 2)


def timer(device, repeats: int):
    """time(fn) -> seconds: CUDA events (median, bench_kernels.gpu_time) on a GPU, wall time (minimum) on CPU; the
    first call warms up (flex attention compiles there)."""

    def time_it(fn):
        if device.type == "cuda":
            from bench_kernels import gpu_time

            return gpu_time(fn, repeats) / 1e3
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    return time_it


def run(args) -> dict:
    device = torch.device("cpu" if args.cpu else "cuda")
    size = CPU if args.cpu else GPU
    contexts = tuple(args.contexts or size["contexts"])
    H, D, W = size["heads"], size["head_dim"], args.window or size["window"]
    dtype = getattr(torch, size["dtype"])
    time_it = timer(device, args.repeats or size["repeats"])
    flash = flash_window(W) if device.type == "cuda" else None
    started = time.time()
    rows = []
    for T in contexts:
        gen = torch.Generator(device=device).manual_seed(T)
        q, k, v = (torch.randn(1, H, T, D, generator=gen, device=device, dtype=dtype) for _ in range(3))
        reference, flex_error = None, ""
        if T <= DENSE_MASK_MAX:
            mask = window_mask(T, W, device)
            reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        row = {"T": T, "window": W}
        try:
            flex = flex_window(T, W, device, compiled=device.type == "cuda")
        except Exception as e:  # noqa: BLE001  (block mask creation failed: recorded below as the row's reason)
            flex, flex_error = None, f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:160]}"
        cases = {
            "full sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            "swa flex": flex,
            "swa flash-attn": flash,
            "swa sdpa mask": (lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)) if reference is not None
            else None,
        }
        for name in IMPLS:
            fn = cases[name]
            if fn is None:
                row[name] = {"skipped": {"swa flash-attn": "flash-attn not installed", "swa flex": flex_error}.get(
                    name, f"a dense (T, T) mask past T = {DENSE_MASK_MAX}")}
                continue
            if time.time() - started > args.max_seconds:
                row[name] = {"skipped": f"past --max-seconds {args.max_seconds}"}
                continue
            call = fn if name in ("full sdpa", "swa sdpa mask") else (lambda fn=fn: fn(q, k, v))
            try:
                with torch.no_grad():
                    seconds = time_it(call)
                    out = call()
                entry = {"ms": seconds * 1e3}
                if name != "full sdpa" and reference is not None:
                    entry["max_abs_err"] = float((out.float() - reference.float()).abs().max())
                row[name] = entry
            except torch.cuda.OutOfMemoryError as e:
                row[name] = {"skipped": f"out of memory ({str(e).splitlines()[0][:120]})"}
                torch.cuda.empty_cache()
            except Exception as e:  # noqa: BLE001  (a kernel this torch / GPU cannot compile or run: say why, go on)
                row[name] = {"skipped": f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:160]}"}
        rows.append(row)
        del q, k, v, reference
    argv = sys.argv[1:] if args.argv is None else args.argv
    return {"command": "python benchmarks/bench_window.py " + " ".join(argv),
            "hardware": {"device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor()
                         or "cpu", "torch": torch.__version__},
            "sizes": {"batch": 1, "heads": H, "head_dim": D, "window": W, "dtype": size["dtype"]},
            "seconds": round(time.time() - started, 1), "rows": rows}


def table(result: dict) -> str:
    s = result["sizes"]
    lines = [f"Prefill attention, one layer: batch 1, {s['heads']} heads x {s['head_dim']}, {s['dtype']}, window "
             f"{s['window']}, on {result['hardware']['device']} (torch {result['hardware']['torch']}); "
             f"`{result['command']}`", "",
             "| T | " + " | ".join(f"{name} ms" for name in IMPLS) + " | full sdpa ÷ swa flex |",
             "|---:|" + "---:|" * (len(IMPLS) + 1)]
    for row in result["rows"]:
        cells = []
        for name in IMPLS:
            r = row[name]
            cells.append("—" if "skipped" in r else f"{r['ms']:.3f}")
        full, flex = row["full sdpa"], row["swa flex"]
        ratio = f"{full['ms'] / flex['ms']:.2f}" if "ms" in full and "ms" in flex else "—"
        lines.append(f"| {row['T']} | " + " | ".join(cells) + f" | {ratio} |")
    skipped = sorted({f"{name}: {row[name]['skipped']}" for row in result["rows"] for name in IMPLS
                      if "skipped" in row[name]})
    return "\n".join(lines + ([""] + [f"- skipped {s}" for s in skipped] if skipped else []))


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="tiny sizes on CPU (what the test runs)")
    ap.add_argument("--contexts", type=int, nargs="*", help="sequence lengths (default: 4k..64k on GPU)")
    ap.add_argument("--window", type=int, help="window in tokens (default 2048 on GPU, 64 on CPU)")
    ap.add_argument("--repeats", type=int, help="timed calls per case (default 10 on GPU, 2 on CPU)")
    ap.add_argument("--max-seconds", type=float, default=150.0, help="skip the cases left after this (default 150)")
    ap.add_argument("--out", type=Path, help="directory for window.json and table.md")
    args = ap.parse_args(argv)
    args.argv = argv
    if not args.cpu and not torch.cuda.is_available():
        ap.error("no CUDA device; accepted here: --cpu")
    if args.window is not None and args.window < 1:
        ap.error(f"--window={args.window}; accepted: a positive integer")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    result = run(args)
    text = table(result)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "window.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "table.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
