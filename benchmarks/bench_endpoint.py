"""Examples/s of the `quick` suite's test split through an OpenAI-compatible endpoint with 1 vs 8 requests in flight,
and through the in-process evaluator, on the same checkpoint in the same run (docs/endpoints.md).

    python benchmarks/bench_endpoint.py CHECKPOINT --out reports/endpoint/cpu [--n-test 20] [--concurrency 1 8]
    python benchmarks/bench_endpoint.py CHECKPOINT --base-url http://HOST:8000/v1 --name NAME   # a running server

Without --base-url the script starts `hybrid-eval-serve CHECKPOINT` (this project's server: one model, one
generation at a time) on a free port of 127.0.0.1 and stops it at the end. Every endpoint pass runs with the reply
cache off, greedy, teacher-forced; the in-process pass is `harness.evaluate.scoring.evaluate` on the same examples
(CPU, `--threads` torch threads). Each pass records seconds, examples/s, requests, latency p50/p95 and the mean
score; the endpoint passes' outputs are checked equal to the in-process ones. Writes `<out>/bench_endpoint.json`
and `<out>/README.md` (the table and the command).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(ckpt: str, threads: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "hybrid_eval.harness.serve", ckpt, "--port", "0", "--name", "probe",
                             "--threads", str(threads)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise SystemExit(f"bench_endpoint: the server did not start: {line!r}")
    return proc, line.split(" on ", 1)[1].strip()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--n-test", type=int, default=20)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--base-url", default=None)
    p.add_argument("--name", default="probe")
    args = p.parse_args(argv)

    import torch
    from omegaconf import OmegaConf

    from hybrid_eval.harness.decode.endpoint import ChatClient
    from hybrid_eval.harness.evaluate.endpoint_scoring import evaluate_endpoint
    from hybrid_eval.harness.evaluate.scoring import evaluate
    from hybrid_eval.models import load_pretrained
    from hybrid_eval.tasks.data import Suite, answer_budgets, load_splits

    torch.set_num_threads(args.threads)
    suite_cfg = OmegaConf.load(ROOT / "conf" / "suite" / "quick.yaml")
    suite = Suite.from_config(suite_cfg)
    tasks = {t.alias: t for t in suite.tasks}
    test = {t.alias: load_splits(t, {"test": args.n_test}, seed=int(suite_cfg.seed), cache_dir=None)["test"]
            for t in suite.tasks}
    model, tok, _ = load_pretrained(OmegaConf.create({"family": "pretrained", "path": args.checkpoint}))
    cfg = OmegaConf.create({"batch_size": 64, "max_new_tokens": 16, "multi_turn": "teacher_forced", "max_turns": None})
    budgets = answer_budgets(tok, test, cfg.max_new_tokens)
    n = sum(len(v) for v in test.values())
    rows = []

    t0 = time.perf_counter()
    local = evaluate(model, tok, tasks, test, cfg)
    sec = time.perf_counter() - t0
    rows.append({"path": "in-process", "concurrency": None, "seconds": round(sec, 2), "examples_per_s": round(n / sec, 2),
                 "score": sum(r["score"] for r in local) / n})

    proc, url = (None, args.base_url) if args.base_url else start_server(args.checkpoint, args.threads)
    try:
        for c in args.concurrency:
            client = ChatClient(url, args.name)
            t0 = time.perf_counter()
            remote = evaluate_endpoint(client, tasks, test, cfg, budgets, concurrency=c)
            sec = time.perf_counter() - t0
            s = client.summary()
            rows.append({"path": "endpoint", "concurrency": c, "seconds": round(sec, 2),
                         "examples_per_s": round(n / sec, 2), "requests": s["sent"],
                         "latency_p50_s": round(s["latency_s"]["p50"], 4), "latency_p95_s": round(s["latency_s"]["p95"], 4),
                         "score": sum(r["score"] for r in remote) / n,
                         "outputs_equal_in_process": [r["outputs"] for r in remote] == [r["outputs"] for r in local]})
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/bench_endpoint.py " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command, "examples": n, "tasks": {k: len(v) for k, v in test.items()}, "threads": args.threads,
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "rows": rows}
    (out / "bench_endpoint.json").write_text(json.dumps(meta, indent=1) + "\n")
    lines = ["| path | in flight | seconds | examples/s | latency p50 / p95 (s) | mean score | outputs = in-process |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = f"{r['latency_p50_s']} / {r['latency_p95_s']}" if "latency_p50_s" in r else "–"
        eq = {True: "yes", False: "NO"}.get(r.get("outputs_equal_in_process"), "–")
        lines.append(f"| {r['path']} | {r['concurrency'] or '–'} | {r['seconds']} | {r['examples_per_s']} | {lat} | "
                     f"{r['score']:.3f} | {eq} |")
    table = "\n".join(lines)
    print(table)
    (out / "README.md").write_text(f"# Endpoint vs in-process evaluation\n\n```bash\n{command}\n```\n\n{table}\n")


if __name__ == "__main__":
    main()
