"""`report.md` for a sweep: scores beside chance, gaps to the baseline with intervals, training summary.

    python -m harness.report SWEEP_DIR [--baseline F]    # rebuilds gaps.json and report.md from saved results
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import gaps as gaps_mod
from harness import store


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(v: dict, key: str = "score") -> str:
    lo, hi = v["ci95"]
    return f"{_pct(v[key])} [{_pct(lo)}, {_pct(hi)}]"


def render(sweep_dir, gaps: dict, jobs: list[dict]) -> str:
    scores = gaps["scores"]
    names = list(scores)
    lines = [f"# hybrid-eval report: {Path(sweep_dir).name}", ""]
    if not names:
        return "\n".join(lines + ["No complete job in this directory yet."]) + "\n"
    tasks = list(next(iter(scores.values()))["tasks"])
    lines += [
        f"Baseline: pattern `{gaps['baseline']}`. Variants: {', '.join(f'`{n}`' for n in names)}.",
        "Scores are accuracy in percent with 95% bootstrap intervals over test examples; gaps are "
        "baseline − variant, paired over the identical examples (positive = the variant is worse).",
        f"Rebuild: `python -m harness.report {sweep_dir}`", "",
        "## Scores", "",
        "| task | category | chance | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for t in tasks:
        first = scores[names[0]]["tasks"][t]
        row = [t, first["category"], _pct(first["chance"])]
        row += [_ci(scores[n]["tasks"][t]) if t in scores[n]["tasks"] else "–" for n in names]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Gaps to the baseline", ""]
    for name, v in gaps["variants"].items():
        if v.get("baseline_job") is None:
            lines += [f"`{name}`: {v['note']}.", ""]
            continue
        lines += [f"### `{name}`", "", "| category | gap | 95% interval | distinguishable from 0 |", "|---|---|---|---|"]
        for c, g in v["categories"].items():
            lines.append(f"| {c} | {_pct(g['gap'])} | [{_pct(g['ci95'][0])}, {_pct(g['ci95'][1])}] | {'yes' if g['distinguishable'] else 'no'} |")
        lines += ["", "| task | gap | 95% interval | n |", "|---|---|---|---|"]
        for t, g in v["tasks"].items():
            lines.append(f"| {t} | {_pct(g['gap'])} | [{_pct(g['ci95'][0])}, {_pct(g['ci95'][1])}] | {g['n']} |")
        lines.append("")
    lines += ["## Training", "",
              "| variant | params | layer types | steps | batch | tokens | loss first → last | best task vs chance | train s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, job in zip(names, jobs):
        tr, m = job["train"], job["model"]
        lt = "".join("F" if t.startswith("full") else "L" for t in m["layer_types"])
        margin = max(v["score"] - v["chance"] for v in job["tasks"].values())
        lines.append(f"| `{name}` | {m['params']:,} | {lt} | {tr['steps']} | {tr['batch_size']} | {tr['tokens']:,} | "
                     f"{tr['initial_loss']:.3f} → {tr['final_loss']:.3f} | {'+' if margin >= 0 else ''}{_pct(margin)} pts | {tr['seconds']:.0f} |")
    lines += ["", "A variant whose loss did not fall and whose scores sit at chance did not train; its gaps are "
              "artifacts of optimisation, not of the architecture.", ""]
    return "\n".join(lines)


def write(sweep_dir, baseline: str = "F") -> Path:
    jobs = gaps_mod.load_jobs(sweep_dir)
    gaps = gaps_mod.compute(jobs, baseline)
    store.write_json(Path(sweep_dir) / "gaps.json", gaps)
    path = Path(sweep_dir) / "report.md"
    store.write_text(path, render(sweep_dir, gaps, jobs))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--baseline", default="F")
    args = ap.parse_args(argv)
    if not Path(args.sweep_dir).is_dir():
        print(f"harness.report: error: {args.sweep_dir!r} is not a directory; give a sweep directory", file=sys.stderr)
        return 2
    print(write(args.sweep_dir, args.baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
