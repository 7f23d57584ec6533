"""Packing: the training throughput of N probes sharing one GPU, against one probe alone in the same run, with and
without NVIDIA MPS (the figure behind packing the study's jobs, reports/minimax-gap).

    python benchmarks/bench_packing.py --out reports/perf/packing                 # GPU: qwen3_next F, base, minimax_gap
    python benchmarks/bench_packing.py --patterns F LLLF L --counts 1 6 --mps on --out /tmp/pk
    python benchmarks/bench_packing.py --cpu --counts 1 2 --seconds 3 --out /tmp/pk   # CPU smoke run: tiny, smoke

Each job is its own process with the pack launcher's slot plan (harness/launch/pack.py `plan_slots`): on a GPU its
share of the card's memory (0.9 split among the jobs), and its share of the CPU threads. Job i trains pattern
`patterns[i % len(patterns)]` with bench_train_step's training step (the loop's forward_backward, clipping, AdamW;
bf16 autocast on CUDA). Every job builds its probe and runs `--warmup` steps (Triton compiles there), then waits
until all jobs are ready; they start together and each trains `--seconds`, synchronising after every step.

- per job tokens/s: the tokens it trained over its own window (the windows coincide to within one step);
- together: the sum over the jobs;
- x one alone: together / the one-job rate of the same run (with MPS off when that was measured);
- peak GB: each job's peak allocated GPU memory.

`--mps on` runs a round under the launcher's own MPS daemon (harness/launch/mps.py). Writes OUT/packing.json (rows,
hardware, command) and OUT/table.md, the table printed last; each job's log is kept in OUT/logs/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import bench_train_step as bench
from hybrid_eval.harness.launch import gpu_share, mps
from hybrid_eval.harness.launch.pack import plan_slots, visible_gpus

POOL = 16             # distinct batches a job cycles through (throughput does not need fresh data)
READY_TIMEOUT = 900   # seconds for every job to build its probe and warm up (a cold Triton compile takes minutes)


def worker(spec_path: Path) -> int:
    """One packed job: warm up, say ready, wait for the start, train for the window, write its figures."""
    spec = json.loads(spec_path.read_text())
    args = argparse.Namespace(**spec["args"])
    torch.set_num_threads(spec["threads"])
    device = torch.device("cpu" if args.cpu else "cuda")
    if device.type == "cuda":
        gpu_share.apply(device)
    cfg, data, tokenizer = bench.prepare(args)
    step, sync, _ = bench.trainer(spec["pattern"], cfg, tokenizer, device)
    pool = bench.batches({a: d["train"] for a, d in data.items()}, tokenizer, POOL, args.batch_size,
                         args.micro_batch_tokens, seed=spec["index"])
    for i in range(args.warmup):
        step(*pool[i % POOL][:2])
    sync()
    Path(spec["ready"]).touch()
    go = Path(spec["go"])
    while not go.exists():
        time.sleep(0.02)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps, tokens, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        parts, count, n_tokens = pool[steps % POOL]
        step(parts, count)
        sync()
        steps, tokens = steps + 1, tokens + n_tokens
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None
    Path(spec["result"]).write_text(json.dumps({"steps": steps, "tokens": tokens, "seconds": seconds,
                                                "peak_gb": None if peak is None else round(peak, 2)}))
    return 0


def last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.exists() else []
    return lines[-1][:300] if lines else "no output"


def run_round(args, n: int, use_mps: bool, logs: Path) -> dict:
    """N jobs at once; a row of the table (with `error` when a job failed: the others are stopped)."""
    patterns = [args.patterns[i % len(args.patterns)] for i in range(n)]
    row = {"jobs": n, "mps": use_mps, "patterns": patterns}
    gpus = [] if args.cpu else visible_gpus()[:1]
    slots = plan_slots(n, gpus, None, os.cpu_count() or 1)
    daemon = mps.start() if use_mps else None
    work = Path(tempfile.mkdtemp(prefix="bench-packing-"))
    procs = []
    try:
        for i, slot in enumerate(slots):
            spec = {"args": vars(args) | {"out": None}, "pattern": patterns[i], "index": i, "threads": slot.threads,
                    "ready": str(work / f"ready{i}"), "go": str(work / "go"), "result": str(work / f"result{i}.json")}
            (work / f"spec{i}.json").write_text(json.dumps(spec))
            env = os.environ | ({} if slot.gpu is None else {"CUDA_VISIBLE_DEVICES": slot.gpu})
            if slot.memory is not None:
                env[gpu_share.ENV] = f"{slot.memory:.4f}"
            if daemon is not None:
                env |= daemon.env
            log = logs / f"{n}jobs{'-mps' if use_mps else ''}-job{i}-{patterns[i]}.log"
            procs.append((subprocess.Popen([sys.executable, __file__, "--worker", str(work / f"spec{i}.json")],
                                           env=env, stdout=log.open("w"), stderr=subprocess.STDOUT), log))
        deadline = time.time() + READY_TIMEOUT
        while not all((work / f"ready{i}").exists() for i in range(n)):
            dead = [(i, log) for i, (p, log) in enumerate(procs) if p.poll() is not None]
            if dead or time.time() > deadline:
                i, log = dead[0] if dead else (None, None)
                row["error"] = (f"job {i} ({patterns[i]}) exited before it was ready: {last_line(log)}" if dead else
                                f"not every job was ready after {READY_TIMEOUT} s")
                return row
            time.sleep(0.1)
        (work / "go").touch()
        for i, (p, log) in enumerate(procs):
            try:
                code = p.wait(timeout=args.seconds + 600)
            except subprocess.TimeoutExpired:
                row["error"] = f"job {i} ({patterns[i]}) did not finish {args.seconds + 600:.0f} s after the start"
                return row
            if code != 0:
                row["error"] = f"job {i} ({patterns[i]}) failed: {last_line(log)}"
                return row
        results = [json.loads((work / f"result{i}.json").read_text()) for i in range(n)]
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if daemon is not None:
            daemon.stop()
    rates = [r["tokens"] / r["seconds"] for r in results]
    return row | {"tokens_per_s": [round(r, 1) for r in rates], "together_tokens_per_s": round(sum(rates), 1),
                  "steps_per_s": [round(r["steps"] / r["seconds"], 2) for r in results],
                  "peak_gb": [r["peak_gb"] for r in results]}


def with_ratios(rows: list[dict]) -> list[dict]:
    """x one alone: each row's together rate over the one-job rate of the run (MPS off preferred)."""
    alone = [r for r in rows if r["jobs"] == 1 and "error" not in r]
    alone.sort(key=lambda r: r["mps"])
    base = alone[0]["together_tokens_per_s"] if alone else None
    for r in rows:
        r["x_alone"] = round(r["together_tokens_per_s"] / base, 2) if base and "error" not in r else None
    return rows


def table(result: dict) -> str:
    s = result["settings"]
    head = (f"{s['family']} at {s['size']} on {s['suite']}, batch {s['batch_size']}, micro-batch tokens "
            f"{s['micro_batch_tokens']}, {s['seconds']} s a round after {s['warmup']} warm-up steps, on "
            f"{result['hardware']['device']} (torch {result['hardware']['torch']}); `{result['command']}`")
    lines = [head, "", "| MPS | jobs | patterns | per job tokens/s | together tokens/s | x one alone | peak GB per job |",
             "|---|---:|---|---|---:|---:|---|"]
    for r in result["rows"]:
        mode = "on" if r["mps"] else "off"
        if "error" in r:
            lines.append(f"| {mode} | {r['jobs']} | {' '.join(r['patterns'])} | failed: {r['error']} | – | – | – |")
            continue
        span = lambda xs: f"{min(xs):.0f}-{max(xs):.0f}" if len(xs) > 1 else f"{xs[0]:.0f}"  # noqa: E731
        peaks = [p for p in r["peak_gb"] if p is not None]
        lines.append(f"| {mode} | {r['jobs']} | {' '.join(r['patterns'])} | {span(r['tokens_per_s'])} | "
                     f"{r['together_tokens_per_s']:.0f} | {r['x_alone'] if r['x_alone'] is not None else '–'} | "
                     f"{f'{min(peaks)}-{max(peaks)}' if peaks else '–'} |")
    return "\n".join(lines) + "\n"


def error(message: str) -> int:
    print(f"bench_packing: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker(Path(argv[1]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="CPU smoke run: tiny probes on the smoke suite")
    ap.add_argument("--patterns", nargs="+", default=["F"], help="job i trains patterns[i %% len] (default: F)")
    ap.add_argument("--counts", nargs="+", type=int, default=None, help="jobs at once per round (default 1 3 6 8)")
    ap.add_argument("--mps", nargs="+", choices=["off", "on"], default=None, help="default: off on (off with --cpu)")
    bench.probe_args(ap)
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps per job first (default 20; 1 with --cpu)")
    ap.add_argument("--seconds", type=float, default=None, help="timed window per round (default 30; 3 with --cpu)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if not args.cpu and not torch.cuda.is_available():
        return error("no CUDA device; accepted: a GPU machine, or --cpu for the CPU smoke run")
    args.counts = args.counts or ([1, 2] if args.cpu else [1, 3, 6, 8])
    args.mps = args.mps or (["off"] if args.cpu else ["off", "on"])
    bench.probe_defaults(args, args.cpu)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.cpu else 20)
    args.seconds = args.seconds if args.seconds is not None else (3.0 if args.cpu else 30.0)
    if min(args.counts) < 1 or args.seconds <= 0 or args.warmup < 0 or min(args.batch_size, args.examples) < 1:
        return error("--counts, --batch-size and --examples must be >= 1, --seconds > 0 and --warmup >= 0")
    if args.cpu and "on" in args.mps:
        return error("--mps on needs a GPU; accepted with --cpu: --mps off")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-packing-out-"))
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bench.prepare(args)  # the suite's data, generated once into the cache the jobs read
    rows = []
    for mode in args.mps:
        for n in args.counts:
            rows.append(run_round(args, n, mode == "on", logs))
            print(f"bench_packing: {n} job(s), MPS {mode}: " + (rows[-1].get("error") or
                  f"{rows[-1]['together_tokens_per_s']:.0f} tokens/s together"), flush=True)
    result = {"command": "python benchmarks/bench_packing.py " + " ".join(argv),
              "hardware": {"device": torch.cuda.get_device_name(0) if not args.cpu
                           else platform.processor() or platform.machine(),
                           "cores": os.cpu_count(), "torch": torch.__version__},
              "settings": {k: getattr(args, k) for k in ("family", "size", "suite", "batch_size", "micro_batch_tokens",
                                                         "examples", "warmup", "seconds")},
              "rows": with_ratios(rows)}
    text = table(result)
    (out / "packing.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "table.md").write_text(text)
    print(text + f"\nbench_packing: wrote {out / 'packing.json'}, {out / 'table.md'} and the jobs' logs in {logs}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
