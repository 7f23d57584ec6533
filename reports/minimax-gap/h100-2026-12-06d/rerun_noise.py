"""How far the same job moves when it runs again: per-task and per-category accuracy of two runs of one
configuration and seed (same code, same GPU model, other jobs packed beside it). Usage:
python reports/minimax-gap/h100-2026-12-06d/rerun_noise.py RUN_A/results.json RUN_B/results.json [...pairs]"""
import json
import statistics
import sys

paths = sys.argv[1:]
if len(paths) < 2 or len(paths) % 2:
    sys.exit("rerun_noise.py: give pairs of results.json files (run A, run B), e.g. a/F_seed0/results.json b/F_seed0/results.json")
diffs, big = [], []
for a_path, b_path in zip(paths[::2], paths[1::2]):
    a, b = (json.load(open(p)) for p in (a_path, b_path))
    print(f"{a_path} vs {b_path}: final loss {a['train']['final_loss']:.3f} vs {b['train']['final_loss']:.3f}")
    for c in sorted(a["categories"]):
        print(f"  {c:13s} {100 * a['categories'][c]:5.1f} vs {100 * b['categories'][c]:5.1f}")
    for t in a["tasks"]:
        d = 100 * (a["tasks"][t]["score"] - b["tasks"][t]["score"])
        diffs.append(abs(d))
        if round(abs(d), 6) >= 10:  # scores are fractions: 10 points can come out as 9.999...
            big.append(f"{t} {100 * a['tasks'][t]['score']:.1f} vs {100 * b['tasks'][t]['score']:.1f}")
print(f"{len(diffs)} task scores: mean |difference| {statistics.mean(diffs):.1f} points, median "
      f"{statistics.median(diffs):.1f}, max {max(diffs):.1f}; 10 points or more: {'; '.join(big) or 'none'}")
