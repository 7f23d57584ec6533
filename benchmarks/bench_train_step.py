"""Where a probe's training step spends its time: wall time per step beside the device's busy time, kernel launches
and host-device synchronisations per step (the question behind packing: a ~30M-parameter probe trains at ~49k
tokens/s on an H100, about 2% of its bf16 throughput, reports/minimax-gap).

    python benchmarks/bench_train_step.py --out reports/perf/train-step              # GPU: qwen3_next F and LLLF, base, minimax_gap
    python benchmarks/bench_train_step.py --patterns F LLLF L --size base --micro-batch-tokens 16384 --out /tmp/ts
    python benchmarks/bench_train_step.py --cpu --out /tmp/ts                          # CPU smoke run: tiny, smoke suite

Per pattern: the probe (models.build) with the suite's tokenizer, batches drawn and split into micro-batches as the
training loop does (harness/train/loop.py: draw_transcripts, tokenize_step), the loop's own forward_backward, gradient
clipping and AdamW step, in bf16 autocast on CUDA (fp32 on CPU). `--warmup` steps first (they compile Triton kernels),
then `--steps` timed steps (wall time to a synchronised end of each step; median), then `--profile` steps under
torch.profiler:

- kernels/step: CUDA kernels launched per step;
- device ms/step: the sum of those kernels' durations (kernels of one process do not overlap here);
- busy: device ms / step ms: below 1, the device waits for the host (launch-bound; what packing and MPS fill);
- syncs/step: host waits on the device (cudaStreamSynchronize / cudaDeviceSynchronize / blocking copies).

On CPU only step ms, steps/s and tokens/s are measured (no device timeline). Writes OUT/train_step.json (rows,
hardware, command) and OUT/table.md, the table printed last.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from hybrid_eval import config_dir, models
from hybrid_eval.harness.run import suite_data, suite_tokenizer
from hybrid_eval.harness.train.loop import draw_transcripts, forward_backward, param_groups, tokenize_step
from hybrid_eval.tasks.data import Suite

SYNC_EVENTS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")  # the host waits


def config(args) -> object:
    overrides = ["~experiment", f"model={args.family}", f"model.size={args.size}", f"suite={args.suite}",
                 f"train.batch_size={args.batch_size}", f"train.n_examples={args.examples}", "train.n_validation=1",
                 "eval.n_test=1", "logger=none"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("config", overrides=overrides)


def probe_args(ap: argparse.ArgumentParser) -> None:
    """The probe and data options bench_train_step and bench_packing share (defaults: `probe_defaults`)."""
    ap.add_argument("--family", default="qwen3_next")
    ap.add_argument("--size", default=None, help="default: base (tiny with --cpu)")
    ap.add_argument("--suite", default=None, help="default: minimax_gap (smoke with --cpu)")
    ap.add_argument("--batch-size", type=int, default=32, help="default: 32 (at most 8 with --cpu)")
    ap.add_argument("--micro-batch-tokens", type=int, default=None, help="default: 16384 (none with --cpu)")
    ap.add_argument("--examples", type=int, default=None, help="training examples per task to draw from (default 400; "
                                                               "40 on CPU)")


def probe_defaults(args, cpu: bool) -> None:
    """The GPU defaults, or the CPU smoke run's (tiny probes, the smoke suite) where `cpu`; --cpu caps the batch."""
    args.size = args.size or ("tiny" if cpu else "base")
    args.suite = args.suite or ("smoke" if cpu else "minimax_gap")
    args.micro_batch_tokens = args.micro_batch_tokens if args.micro_batch_tokens or cpu else 16384
    args.examples = args.examples or (40 if cpu else 400)
    if args.cpu:
        args.batch_size = min(args.batch_size, 8)


def prepare(args):
    """(config, suite data, tokenizer) of the probe options: generating the data fills the cache other processes read."""
    cfg = config(args)
    suite = Suite.from_config(cfg.suite)
    data = suite_data(cfg, suite)
    return cfg, data, suite_tokenizer(suite, data)


def batches(train: dict[str, list[dict]], tokenizer, n: int, batch_size: int, max_tokens: int | None, seed: int = 0):
    """n steps' micro-batches (CPU tensors), their scored-token counts and tokens, drawn as the training loop draws."""
    rng, names = random.Random(seed), sorted(train)
    return [tokenize_step(tokenizer, draw_transcripts(rng, train, names, batch_size), max_tokens) for _ in range(n)]


def trainer(pattern: str, cfg, tokenizer, device):
    """The probe of `pattern` on `device` with its optimizer: (step(parts, count) -> loss, sync(), build info)."""
    model_cfg = cfg.model.copy()
    model_cfg.pattern = pattern
    model, info = models.build(model_cfg, tokenizer, seed=0)
    model.to(device).train()
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-4, betas=(0.9, 0.95))
    amp = device.type == "cuda"

    def step(parts, count):
        micro = [tuple(t.to(device) for t in part) for part in parts]
        loss = forward_backward(model, micro, amp, device, count)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step, sync, info


def measure(pattern: str, cfg, data, tokenizer, device, args) -> dict:
    step, sync, info = trainer(pattern, cfg, tokenizer, device)
    steps = batches({a: d["train"] for a, d in data.items()}, tokenizer, args.warmup + args.steps + args.profile,
                    args.batch_size, args.micro_batch_tokens)
    for parts, count, _ in steps[:args.warmup]:
        step(parts, count)
    sync()
    times, tokens = [], 0
    for parts, count, n_tokens in steps[args.warmup:args.warmup + args.steps]:
        t = time.perf_counter()
        step(parts, count)
        sync()
        times.append(time.perf_counter() - t)
        tokens += n_tokens
    step_ms = 1000 * statistics.median(times)
    row = {"pattern": pattern, "params": info.get("params"),
           "micro_batches": round(statistics.mean(len(p) for p, _, _ in steps), 2), "step_ms": round(step_ms, 2),
           "steps_per_s": round(len(times) / sum(times), 2), "tokens_per_s": round(tokens / sum(times), 1),
           "kernels_per_step": None, "device_ms_per_step": None, "busy": None, "syncs_per_step": None}
    if device.type == "cuda" and args.profile:
        try:
            row.update(profile_steps(steps[args.warmup + args.steps:], step, sync, step_ms))
        except Exception as e:  # a profiler problem costs the profile columns, not the timings
            row["profile_error"] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
    del step  # the model and optimizer with it
    return row


def profile_steps(steps, step, sync, step_ms: float) -> dict:
    """Kernels, their summed device time and the host's waits per step, from torch.profiler over `steps`."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for parts, count, _ in steps:
            step(parts, count)
        sync()
    events, n = prof.events(), len(steps)
    kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA
               and not e.name.startswith(("Memcpy", "Memset"))]
    device_us = sum(getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) for e in kernels)
    syncs = [e for e in events if e.name in SYNC_EVENTS]
    device_ms = device_us / 1000 / n
    return {"kernels_per_step": round(len(kernels) / n, 1), "device_ms_per_step": round(device_ms, 2),
            "busy": round(device_ms / step_ms, 3), "syncs_per_step": round(len(syncs) / n, 1)}


def table(result: dict) -> str:
    s = result["settings"]
    head = (f"Training step of {s['family']} at {s['size']} on {s['suite']}, batch {s['batch_size']}, micro-batch tokens "
            f"{s['micro_batch_tokens']}, on {result['hardware']['device']} (torch {result['hardware']['torch']}); "
            f"`{result['command']}`")
    lines = [head, "", "| pattern | micro-batches | step ms | steps/s | tokens/s | kernels/step | device ms/step | busy | "
             "syncs/step |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        cells = [r["pattern"], r["micro_batches"], r["step_ms"], r["steps_per_s"], f"{r['tokens_per_s']:.0f}",
                 *("–" if r[k] is None else r[k] for k in ("kernels_per_step", "device_ms_per_step", "busy",
                                                           "syncs_per_step"))]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="CPU smoke run: tiny probes on the smoke suite, 2 timed steps")
    ap.add_argument("--patterns", nargs="+", default=None, help="default: F LLLF")
    probe_args(ap)
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10; 1 with --cpu)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 30; 2 with --cpu)")
    ap.add_argument("--profile", type=int, default=5, help="profiled steps on CUDA (default 5)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    cpu = args.cpu or not torch.cuda.is_available()
    args.patterns = args.patterns or ["F", "LLLF"]
    probe_defaults(args, cpu)
    args.warmup = args.warmup if args.warmup is not None else (1 if cpu else 10)
    args.steps = args.steps if args.steps is not None else (2 if cpu else 30)
    if min(args.steps, args.batch_size, args.examples) < 1 or args.warmup < 0 or args.profile < 0:
        print("bench_train_step: error: --steps, --batch-size, --examples must be >= 1 and --warmup, --profile >= 0",
              file=sys.stderr)
        return 2
    device = torch.device("cpu" if cpu else "cuda")
    cfg, data, tokenizer = prepare(args)
    rows = [measure(p, cfg, data, tokenizer, device, args) for p in args.patterns]
    result = {"command": "python benchmarks/bench_train_step.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "hardware": {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
                           or platform.machine(), "torch": torch.__version__},
              "settings": {"family": args.family, "size": args.size, "suite": args.suite, "batch_size": args.batch_size,
                           "micro_batch_tokens": args.micro_batch_tokens, "warmup": args.warmup, "steps": args.steps,
                           "profiled_steps": args.profile if device.type == "cuda" else 0},
              "rows": rows}
    text = table(result)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "train_step.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "table.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
