"""Report figures as PNG (matplotlib, Agg canvas, no pyplot state): accuracy against difficulty per task
and variant, a category × variant gap heatmap with the intervals written in the cells, training curves.

    hybrid-eval-report SWEEP_DIR      # re-makes every figure under SWEEP_DIR/plots/ from saved results
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PLOTS = "plots"
DPI = 110


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "plot"


def _pct(x):
    return None if x is None else 100 * x


def difficulty(gaps: dict, out_dir) -> dict[str, Path]:
    """One PNG per task that appears at several difficulties: accuracy (%) against the knob that differs,
    one line per variant (band: 95% interval for one seed, lowest..highest seed for several), chance dashed."""
    out = {}
    for task, d in (gaps.get("difficulty") or {}).items():
        values = d["values"]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        xs = list(values) if numeric else list(range(len(values)))
        fig = _figure(6.4, 4.0)
        ax = fig.subplots()
        for variant, s in d["scores"].items():
            pts = [(x, _pct(m), _pct(lo), _pct(hi)) for x, m, lo, hi in zip(xs, s["mean"], s["lo"], s["hi"]) if m is not None]
            if not pts:
                continue
            x, m, lo, hi = zip(*pts)
            seeds = s.get("seeds") or []
            label = variant + (f" ({len(seeds)} seeds)" if len(seeds) > 1 else "") + (" — did not train" if s.get("did_not_train") else "")
            line, = ax.plot(x, m, marker="o", label=label, linestyle=":" if s.get("did_not_train") else "-")
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.plot(xs, [_pct(c) for c in d["chance"]], color="grey", linestyle="--", linewidth=1, label="chance")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in values], rotation=20, ha="right")
        else:
            if len(xs) > 2 and min(xs) > 0 and max(xs) / min(xs) >= 8:
                ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(v) for v in values])
        ax.set_ylim(-2, 102)
        ax.set_xlabel(d["knob"])
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{task}: accuracy vs {d['knob']}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        out[f"difficulty/{task}"] = _save(fig, Path(out_dir) / f"difficulty_{slug(task)}.png")
    return out


def gap_heatmap(gaps: dict, out_dir) -> dict[str, Path]:
    """Rows: categories; columns: every compared job; cell: gap in points (baseline − variant, red = the
    variant is worse) with its 95% paired interval, over the tasks the baseline learned (a * marks a category with
    some tasks left out); grey: no gap (the job did not train, or the baseline learned none of the category's tasks)."""
    variants = gaps.get("variants") or {}
    if not variants:
        return {}
    names = list(variants)
    cats = sorted({c for v in variants.values()
                   for c in [*(v.get("categories") or {}), *((v.get("undecided") or {}).get("categories") or {})]})
    if not cats:
        cats = sorted({t["category"] for s in gaps["scores"].values() for t in s["tasks"].values()})
    vals = [[(variants[n].get("categories") or {}).get(c) for n in names] for c in cats]
    finite = [abs(g["gap"]) for row in vals for g in row if g]
    vmax = max([0.05] + finite) * 100
    fig = _figure(1.8 + 1.7 * len(names), 1.2 + 0.75 * len(cats))
    ax = fig.subplots()
    grid = [[g["gap"] * 100 if g else math.nan for g in row] for row in vals]
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_facecolor("#d9d9d9")
    for i, row in enumerate(vals):
        for j, g in enumerate(row):
            v = variants[names[j]]
            if g:
                star = "*" if g.get("left_out") else ""
                text = f"{100 * g['gap']:+.1f}{star}\n[{100 * g['ci95'][0]:+.1f}, {100 * g['ci95'][1]:+.1f}]"
                dark = abs(100 * g["gap"]) > 0.6 * vmax
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black",
                        fontweight="bold" if g.get("distinguishable") else "normal")
            else:
                undecided = cats[i] in ((v.get("undecided") or {}).get("categories") or {})
                label = "did not\ntrain" if v.get("did_not_train") else "baseline\nnot learned" if undecided else "no\nbaseline"
                ax.text(j, i, label, ha="center", va="center", fontsize=8, color="#555555")
    ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
    ax.set_yticks(range(len(cats)), cats)
    starred = any(g and g.get("left_out") for row in vals for g in row)
    ax.set_title(f"gap to {gaps.get('baseline', 'F')} by category (points; bold: interval excludes 0"
                 + ("; *: over the tasks the baseline learned" if starred else "") + ")", fontsize=9)
    fig.colorbar(im, ax=ax, label="gap (points)", shrink=0.8)
    return {"gaps/heatmap": _save(fig, Path(out_dir) / "gap_heatmap.png")}


def training_curves(jobs: list[dict], names: list[str], out_dir) -> dict[str, Path]:
    """Training loss against step, one line per job; validation accuracy beside it when the runs saved a
    `train.val_curve` ([[step, accuracy], ...])."""
    curves = [(n, (j.get("train") or {}).get("loss_curve") or [], (j.get("train") or {}).get("val_curve") or [],
               j.get("did_not_train")) for n, j in zip(names, jobs)]
    if not any(c for _, c, _, _ in curves):
        return {}
    with_val = any(v for _, _, v, _ in curves)
    variants = list(dict.fromkeys(j.get("variant", n) for n, j in zip(names, jobs)))
    seeds = sorted({j.get("seed") for j in jobs}, key=str)
    styles = ["-", "--", "-.", (0, (5, 1, 1, 1, 1, 1))]
    palette = [f"C{i % 10}" for i in range(len(variants))]
    fig = _figure(11 if with_val else 6.8, 4.2)
    axes = fig.subplots(1, 2 if with_val else 1, squeeze=False)[0]
    for (name, curve, val, dnt), job in zip(curves, jobs):  # colour: variant; line style: seed; dotted: did not train
        label = name + (" — did not train" if dnt else "")
        color = palette[variants.index(job.get("variant", name))]
        style = ":" if dnt else styles[seeds.index(job.get("seed")) % len(styles)]
        if curve:
            s, l = zip(*curve)
            axes[0].plot(s, l, color=color, linestyle=style, label=label)
        if with_val and val:
            s, a = zip(*val)
            axes[1].plot(s, [100 * x for x in a], color=color, marker=".", linestyle=style, label=label)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss (assistant tokens)")
    axes[0].set_title("training loss")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if with_val:
        axes[1].set_xlabel("step")
        axes[1].set_ylabel("validation accuracy (%)")
        axes[1].set_title("validation accuracy")
        axes[1].grid(alpha=0.3)
    return {"training/curves": _save(fig, Path(out_dir) / "training_curves.png")}


def write_all(sweep_dir, gaps: dict, jobs: list[dict], names: list[str]) -> dict[str, Path]:
    """Every figure of a sweep under SWEEP_DIR/plots/; {key: path}."""
    out_dir = Path(sweep_dir) / PLOTS
    return difficulty(gaps, out_dir) | gap_heatmap(gaps, out_dir) | training_curves(jobs, names, out_dir)
