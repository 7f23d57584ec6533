"""W&B custom charts of a sweep: the gap by category with 95% error bars, and accuracy against a difficulty knob
with a 95% band, drawn from logged tables (`wandb.plot_table`), so a panel redraws as runs arrive and can put several
sweeps side by side.

A custom chart is a Vega spec stored once per W&B entity as a preset; runs only log a table and the mapping of its
columns to the spec's fields. Create the two presets once (docs/wandb.md):

    python -m hybrid_eval.harness.report.charts OUT_DIR     # writes gap_ci.vg.json, accuracy_band.vg.json

then in W&B: a panel -> Custom chart -> Edit -> paste the spec -> Save as preset, named as in `PRESETS` (or set
`logger.charts.gap` / `logger.charts.difficulty` to your preset IDs). Until then W&B shows the logged table beside an
empty chart; the report's PNGs (plots/...) and the built-in bar and line charts are logged as well.

Fields (the table columns each spec reads; `${field:NAME}` in the spec):
    gap_ci         label (job · category), category, value (gap), lo, hi (95% interval)
    accuracy_band  x (knob value), y (mean accuracy), lo, hi (95% band), color (variant)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PRESETS = {"gap": "hybrid-eval/gap-ci", "difficulty": "hybrid-eval/accuracy-band"}

GAP_FIELDS = {"label": "job · category", "category": "category", "value": "gap", "lo": "ci_lo", "hi": "ci_hi"}
GAP_COLUMNS = list(GAP_FIELDS.values())
BAND_FIELDS = {"x": "value", "y": "mean", "lo": "lo", "hi": "hi", "color": "variant"}
BAND_COLUMNS = ["variant", "value", "mean", "lo", "hi"]


def _data(*transforms) -> list[dict]:
    return [{"name": "wandb", "transform": list(transforms)}]


GAP_CI = {
    "$schema": "https://vega.github.io/schema/vega/v5.json",
    "description": "Gap to the baseline by job and category (baseline - variant), with its 95% bootstrap interval",
    "title": "${string:title}", "width": 480, "height": 300, "padding": 5, "autosize": "pad",
    "data": _data({"type": "filter", "expr": "isValid(datum['${field:value}'])"}),
    "scales": [
        {"name": "x", "type": "band", "domain": {"data": "wandb", "field": "${field:label}"}, "range": "width",
         "padding": 0.2},
        {"name": "y", "type": "linear", "range": "height", "nice": True, "zero": True,
         "domain": {"data": "wandb", "fields": ["${field:lo}", "${field:hi}", "${field:value}"]}},
        {"name": "color", "type": "ordinal", "domain": {"data": "wandb", "field": "${field:category}"},
         "range": "category"},
    ],
    "axes": [{"orient": "bottom", "scale": "x", "labelAngle": -40, "labelAlign": "right"},
             {"orient": "left", "scale": "y", "title": "gap (baseline - variant)", "grid": True}],
    "legends": [{"fill": "color", "title": "category"}],
    "marks": [
        {"type": "rect", "from": {"data": "wandb"}, "encode": {"enter": {
            "x": {"scale": "x", "field": "${field:label}"}, "width": {"scale": "x", "band": 1},
            "y": {"scale": "y", "field": "${field:value}"}, "y2": {"scale": "y", "value": 0},
            "fill": {"scale": "color", "field": "${field:category}"},
            "tooltip": {"signal": "datum"}}}},
        {"type": "rule", "from": {"data": "wandb"}, "encode": {"enter": {
            "x": {"scale": "x", "field": "${field:label}", "band": 0.5},
            "y": {"scale": "y", "field": "${field:lo}"}, "y2": {"scale": "y", "field": "${field:hi}"},
            "stroke": {"value": "black"}, "strokeWidth": {"value": 1.5}}}},
        {"type": "rule", "encode": {"enter": {"x": {"value": 0}, "x2": {"signal": "width"},
                                              "y": {"scale": "y", "value": 0}, "stroke": {"value": "gray"}}}},
    ],
}

ACCURACY_BAND = {
    "$schema": "https://vega.github.io/schema/vega/v5.json",
    "description": "Accuracy against a difficulty knob, one line per variant, with its 95% band",
    "title": "${string:title}", "width": 480, "height": 300, "padding": 5, "autosize": "pad",
    "data": _data({"type": "filter", "expr": "isValid(datum['${field:y}'])"}, {"type": "collect", "sort": {"field": "${field:x}"}}),
    "scales": [
        {"name": "x", "type": "point", "domain": {"data": "wandb", "field": "${field:x}", "sort": True}, "range": "width"},
        {"name": "y", "type": "linear", "range": "height", "domain": [0, 1]},
        {"name": "color", "type": "ordinal", "domain": {"data": "wandb", "field": "${field:color}"}, "range": "category"},
    ],
    "axes": [{"orient": "bottom", "scale": "x", "title": "${string:x_title}"},
             {"orient": "left", "scale": "y", "title": "accuracy", "grid": True}],
    "legends": [{"stroke": "color", "title": "variant"}],
    "marks": [{
        "type": "group",
        "from": {"facet": {"name": "series", "data": "wandb", "groupby": "${field:color}"}},
        "marks": [
            {"type": "area", "from": {"data": "series"}, "encode": {"enter": {
                "x": {"scale": "x", "field": "${field:x}"}, "y": {"scale": "y", "field": "${field:lo}"},
                "y2": {"scale": "y", "field": "${field:hi}"}, "fill": {"scale": "color", "field": "${field:color}"},
                "fillOpacity": {"value": 0.2}}}},
            {"type": "line", "from": {"data": "series"}, "encode": {"enter": {
                "x": {"scale": "x", "field": "${field:x}"}, "y": {"scale": "y", "field": "${field:y}"},
                "stroke": {"scale": "color", "field": "${field:color}"}, "strokeWidth": {"value": 2}}}},
            {"type": "symbol", "from": {"data": "series"}, "encode": {"enter": {
                "x": {"scale": "x", "field": "${field:x}"}, "y": {"scale": "y", "field": "${field:y}"},
                "fill": {"scale": "color", "field": "${field:color}"}, "tooltip": {"signal": "datum"}}}},
        ],
    }],
}

SPECS = {"gap_ci.vg.json": GAP_CI, "accuracy_band.vg.json": ACCURACY_BAND}


def gap_chart_rows(gap_rows: list[list], columns: list[str]) -> list[list]:
    """Rows of the gap chart's table from tracking.gap_rows: one per (job, category) that has a gap."""
    i = {c: columns.index(c) for c in ("job", "category", "gap", "ci_lo", "ci_hi")}
    return [[f"{r[i['job']]} · {r[i['category']]}", r[i["category"]], r[i["gap"]], r[i["ci_lo"]], r[i["ci_hi"]]]
            for r in gap_rows if r[i["gap"]] is not None]


def band_rows(entry: dict) -> list[list]:
    """Rows of one task's accuracy-vs-difficulty table from gaps["difficulty"][task]: (variant, knob value or its
    level when the values are not numbers, mean, lo, hi), leaving out levels a variant has no score for."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in entry["values"])
    xs = list(entry["values"]) if numeric else list(range(len(entry["values"])))
    return [[variant, x, m, lo, hi] for variant, s in entry["scores"].items()
            for x, m, lo, hi in zip(xs, s["mean"], s["lo"], s["hi"]) if m is not None]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hybrid_eval.harness.report.charts OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in SPECS.items():
        (out / name).write_text(json.dumps(spec, indent=2) + "\n")
    print(f"wrote {', '.join(SPECS)} to {out}: save them in W&B as presets {PRESETS['gap']} and {PRESETS['difficulty']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
