"""`hybrid-eval-headline SWEEP [SWEEP ...] [--out FILE]`: a study's headline table over several sweeps (one per
family), in Markdown, with its JSON beside it (analysis/headline.py computes it).

    hybrid-eval-headline reports/minimax-gap/qwen3_next reports/minimax-gap/kimi_linear --out reports/minimax-gap/headline.md

One row per system (with the seed system's preset name where its layout is one, e.g. gdn_h1): the gap to the sweep's
baseline per category, in points with a 95% interval over test examples and training seeds (bold: the interval
excludes 0), `undecided` with a numbered reason where the baseline did not learn the category's tasks, the MiniMax
verdict over seeds, and a link to the sweep's own report. Each sweep's baseline is the one its report used (its
gaps.json), `F` if it has none, or `--baseline` for all.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hybrid_eval.harness.analysis import gaps as gaps_mod
from hybrid_eval.harness.analysis import headline
from hybrid_eval.harness.errors import ConfigError


def sweep_baseline(sweep: Path, override: str | None) -> str:
    if override:
        return override
    try:
        return json.loads((sweep / "gaps.json").read_text())["baseline"]
    except (OSError, ValueError, KeyError, TypeError):
        return "F"


def collect(sweeps: list[Path], baseline: str | None = None) -> list[dict]:
    """Headline rows of every sweep, each with the sweep it came from."""
    out = []
    for sweep in sweeps:
        if not sweep.is_dir():
            raise ConfigError(f"{str(sweep)!r} is not a directory; accepted: sweep directories (hydra.sweep.dir)")
        base = sweep_baseline(sweep, baseline)
        gaps, jobs = gaps_mod.for_sweep(sweep, base)
        if not jobs:
            raise ConfigError(f"{str(sweep)!r} holds no finished job (no results.json); accepted: a sweep directory "
                              "with at least one finished job")
        out += [row | {"sweep": str(sweep)} for row in headline.rows(gaps, jobs, base)]
    return out


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def markdown(rows: list[dict], out_dir: Path | None = None) -> str:
    cats = [c for c in headline.CATEGORIES if any(c in r["categories"] for r in rows)]
    cats += sorted({c for r in rows for c in r["categories"]} - set(cats))
    notes: list[str] = []  # one numbered reason per distinct text (the variants of one sweep share their baseline's)

    def note(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f"undecided ({notes.index(text) + 1})"

    header = ["system", "vs", "seeds", "steps", *cats, "MiniMax check", "report"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = []
        for c in cats:
            e = r["categories"].get(c)
            if e is None:
                cells.append("–")
            elif "undecided" in e:
                family = r["system"].split(":")[0]
                cells.append(note(f"{family} `{r['baseline']}`, {c}: {e['undecided']}"))
            else:
                text = f"{_pts(e['gap'])} [{_pts(e['ci95'][0])}, {_pts(e['ci95'][1])}]"
                cells.append(f"**{text}**" if e["distinguishable"] else text)
        verdict = f"**{r['minimax']['verdict']}**" if r["minimax"] else "–"
        report = Path(r["sweep"]) / "report.md"
        link = os.path.relpath(report, out_dir) if out_dir is not None else str(report)
        steps = "–" if not r["steps"] else (f"{r['steps'][0]}" if len(r["steps"]) == 1 else f"{r['steps'][0]}-{r['steps'][-1]}")
        seeds = ", ".join(map(str, r["seeds"])) or "none"
        name = f"`{r['system']}`" + (f" ({r['preset']})" if r.get("preset") else "")
        row = [name, r["baseline"], seeds, steps, *cells, verdict, f"[report]({link})"]
        lines.append("| " + " | ".join(row) + " |")
    text = ["Gap = baseline − system in points (positive: the system is worse), a category's gap over the tasks the "
            "baseline learned in every seed; 95% interval over test examples and seeds (two-level bootstrap); bold: "
            "the interval excludes 0.", "", *lines]
    if notes:
        text += ["", *[f"({i}) {n}" for i, n in enumerate(notes, 1)]]
    left = [f"`{r['system']}`: " + "; ".join(r["left_out"]) for r in rows if r["left_out"]]
    if left:
        text += ["", "Left out: " + " · ".join(left)]
    text += accuracy_tables(rows)
    ladders = [(r, t, d) for r in rows for t, d in r["difficulty"].items()]
    if ladders:
        text += ["", "Gap per difficulty rung (points, mean over seeds; – where the baseline did not learn the rung in "
                     "every seed):", ""]
        for r, t, d in ladders:
            rungs = " / ".join(f"{v}: {'–' if g is None else _pts(g)}" for v, g in zip(d["values"], d["gap"]))
            text.append(f"- `{r['system']}` {t} ({d['knob']}) {rungs}")
    return "\n".join(text) + "\n"


def accuracy_tables(rows: list[dict]) -> list[str]:
    """Per sweep, the accuracy (percent, mean over seeds) of its baseline and of each system on every task a gap was
    measured on: the numbers behind the gaps, and what the baseline learned."""
    out = []
    for sweep in dict.fromkeys(r["sweep"] for r in rows):
        members = [r for r in rows if r["sweep"] == sweep and r.get("accuracy")]
        tasks = list(dict.fromkeys(t for r in members for t in r["accuracy"]))
        if not tasks:
            continue
        first = members[0]
        header = ["task", f"`{first['baseline']}` (seeds {', '.join(map(str, first['seeds']))})",
                  *[f"`{r['system']}`" for r in members]]
        out += ["", f"Accuracy (%, mean over seeds) on the tasks the baseline learned, {sweep}:", "",
                "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for t in tasks:
            base = first["accuracy"].get(t, {}).get("baseline")
            cells = [f"{100 * r['accuracy'][t]['system']:.1f}" if t in r["accuracy"] else "–" for r in members]
            out.append("| " + " | ".join([t, "–" if base is None else f"{100 * base:.1f}", *cells]) + " |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hybrid-eval-headline", description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", type=Path, help="sweep directories, one per family or comparison")
    ap.add_argument("--out", type=Path, help="write the table here (and its JSON beside it); default: print it")
    ap.add_argument("--baseline", help="the pattern every sweep's variants are compared with (default: each sweep's own)")
    args = ap.parse_args(argv)
    try:
        rows = collect(args.sweeps, args.baseline)
    except ConfigError as e:
        print(f"hybrid-eval-headline: error: {e}", file=sys.stderr)
        return 2
    if args.out is None:
        print(markdown(rows), end="")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(rows, args.out.parent))
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
