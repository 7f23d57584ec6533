"""Print one line per job directory given: variant, steps, steady rates (median of the last 3 logged points), peak memory."""
import json, re, statistics, sys
from pathlib import Path
RATE = re.compile(r"step (\d+): loss [\d.]+, lr \S+, ([\d.]+) steps/s, (\d+) tokens/s")
for d in sys.argv[1:]:
    d = Path(d)
    p = d / "results.json"
    if not p.exists():
        f = d / "failure.txt"
        print(d, "NO RESULTS", f.read_text().strip() if f.exists() else ""); continue
    r = json.loads(p.read_text()); t = r["train"]; m = r["model"]
    points = [RATE.search(line) for f in d.glob("*.log") for line in f.read_text(errors="replace").splitlines()]
    points = sorted({(int(x[1]), float(x[2]), int(x[3])) for x in points if x})
    last = points[-3:] if len(points) > 3 else points[1:] or points
    sps = statistics.median(x[1] for x in last) if last else float("nan")
    tps = statistics.median(x[2] for x in last) if last else float("nan")
    scores = " ".join(f"{k}={100*v['score']:.0f}" for k, v in r["tasks"].items())
    print(f"{m['family']}:{m['pattern']}:{m['size']} seed={r.get('seed')} dir={d.name} steps={t['steps']} s={t['seconds']} "
          f"steady_steps/s={sps:.2f} steady_tok/s={tps:.0f} mean_tok/s={t['tokens_per_s']:.0f} peakGB={t.get('peak_gpu_memory_gb')} "
          f"loss={t['initial_loss']:.3f}->{t['final_loss']:.3f} calls={r.get('kernels',{}).get('calls')} | {scores}")
