"""`report.md` for a sweep: scores beside chance, gaps to the baseline with intervals, their spread over
seeds, the MiniMax check, accuracy against difficulty, the training budget and convergence, PNG figures.

    hybrid-eval-report SWEEP_DIR [--baseline F] [--wandb] [--wandb-relog offline|online]
        # rebuilds gaps.json, report.md and plots/*.png from saved results; --wandb also logs a W&B
        # "report" run (gap table and charts) into the sweep's group, with the sweep's logger settings;
        # --wandb-relog logs every job and the report as W&B runs from the saved files (report/relog.py)
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from hybrid_eval.harness.analysis import gaps as gaps_mod
from hybrid_eval.harness.train import protocol
from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError

log = logging.getLogger(__name__)

DNT = "did not train"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _sgn(x: float) -> str:
    return f"{100 * x:+.1f}"


def _ci(v: dict, key: str = "score") -> str:
    lo, hi = v["ci95"]
    return f"{_pct(v[key])} [{_pct(lo)}, {_pct(hi)}]"


def _gap(g: dict) -> str:
    return f"{_sgn(g['gap'])} [{_sgn(g['ci95'][0])}, {_sgn(g['ci95'][1])}]"


def _v(x) -> str:
    return "–" if x is None else str(x)


def _img(sweep_dir, path: Path, alt: str) -> str:
    return f"![{alt}]({path.relative_to(Path(sweep_dir)).as_posix()})"


def _knobs(k: dict | None) -> str:
    return " ".join(f"{a}={b}" for a, b in (k or {}).items())


def _header(sweep_dir, gaps) -> list[str]:
    scores = gaps["scores"]
    dnt = [n for n, s in scores.items() if s.get("did_not_train")]
    lines = [
        f"Baseline: pattern `{gaps['baseline']}`. Jobs: {', '.join(f'`{n}`' for n in scores)}.",
        "",
        "Scores are accuracy in percent with 95% bootstrap intervals over test examples; gaps are "
        "baseline − variant in points, paired over the identical examples (positive = the variant is worse). "
        "A category's score is the mean of its tasks' scores.",
        "",
        f"Rebuild everything below (gaps.json, this file, plots/): `hybrid-eval-report {sweep_dir}`",
        "",
    ]
    if dnt:
        lines += [f"**Did not train** (excluded from every gap statistic): {', '.join(f'`{n}`' for n in dnt)}.", ""]
    errors = {n: s["errors"] for n, s in scores.items() if s.get("errors")}
    if errors:  # model=endpoint: requests the server rejected (context too long, bad template), each scored 0
        lines += ["**Endpoint errors** (requests the server rejected, each example scored 0; see `error` in samples.jsonl): "
                  + "; ".join(f"`{n}`: " + ", ".join(f"{t} {k}" for t, k in e.items()) for n, e in errors.items()) + ".", ""]
    if gaps.get("missing") or gaps.get("incomplete") or gaps.get("damaged"):
        lines += ["## Missing jobs", "", "This report covers the jobs that finished. Not finished:", ""]
        lines += [f"- `{m}` (no complete results)" for m in gaps.get("missing", [])]
        for d in gaps.get("incomplete", []):
            name, _, reason = d.partition(": ")
            lines.append(f"- directory `{name}` (started, no complete results.json{': ' + reason if reason else ''})")
        lines += [f"- damaged, left out: {line}" for line in gaps.get("damaged", [])]
        lines += ["", "Rerun the same sweep command with the same `hydra.sweep.dir` to finish them; complete jobs are skipped.", ""]
    return lines


def _scores(gaps) -> list[str]:
    scores = gaps["scores"]
    names = list(scores)
    tasks: dict[str, dict] = {}
    for s in scores.values():
        for t, v in s["tasks"].items():
            tasks.setdefault(t, v)
    head = [f"{n} ({DNT})" if scores[n].get("did_not_train") else n for n in names]
    lines = ["## Scores", "", "| task | knobs | category | chance | context guess | " + " | ".join(head) + " |",
             "|---|---|---|---|---|" + "---|" * len(names)]
    flagged = False
    for t, first in tasks.items():
        label = t if first.get("task", t) == t else f"{t} ({first['task']})"
        guess = first.get("context_guess")
        row = [label, _knobs(first.get("knobs")), first["category"], "–" if first.get("chance") is None else _pct(first["chance"]),
               "–" if guess is None else _pct(guess)]
        for n in names:
            v = scores[n]["tasks"].get(t)
            at_guess = v is not None and guess is not None and v["ci95"][0] <= guess <= v["ci95"][1]
            flagged |= at_guess
            row.append("–" if v is None else _ci(v) + (" †" if at_guess else ""))
        lines.append("| " + " | ".join(row) + " |")
    if flagged:
        lines += ["", "† the 95% interval contains the context-guess level: the score is what answering with a candidate "
                  "from the context (a stated value or fact, not the asked one) gets, the plateau a recall model sits on "
                  "before it learns to match keys. A small attention probe can stay there for thousands of steps "
                  "(reports/probe-training.md §5-6): read a gap against such a score as \"not converged\", not as a "
                  "difference in recall."]
    nobody = gaps.get("learned_by_none") or {}
    if nobody and len(names) > 1:
        lines += ["", "**Learned by no variant** (every job's interval reaches chance or the context guess; at this budget "
                  "the task says nothing about the mixers in either direction, and it gets no gap): "
                  + "; ".join(f"`{t}` ({why})" for t, why in nobody.items()) + "."]
    cats = sorted({c for s in scores.values() for c in s["categories"]})
    lines += ["", "| category | " + " | ".join(head) + " |", "|---|" + "---|" * len(names)]
    for c in cats:
        row = [c]
        for n in names:
            s = scores[n]
            if c not in s["categories"]:
                row.append("–")
            elif c in (s.get("category_ci95") or {}):
                row.append(f"{_pct(s['categories'][c])} [{_pct(s['category_ci95'][c][0])}, {_pct(s['category_ci95'][c][1])}]")
            else:
                row.append(_pct(s["categories"][c]))
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def _gaps(sweep_dir, gaps, figs) -> list[str]:
    lines = ["## Gaps to the baseline", ""]
    if "gaps/heatmap" in figs:
        lines += [_img(sweep_dir, figs["gaps/heatmap"], "gap by category and variant"), "",
                  f"*Gap by category (points, 95% paired interval; bold: excludes 0). "
                  f"Re-make: `hybrid-eval-report {sweep_dir}`*", ""]
    for name, v in gaps["variants"].items():
        if v.get("did_not_train"):
            lines += [f"### `{name}`", "", f"**{DNT}** — no gap is reported for it.", ""]
            continue
        if "categories" not in v:
            lines += [f"### `{name}`", "", f"No gap: {v.get('note', 'no baseline')}.", ""]
            continue
        undecided = v.get("undecided") or {"tasks": {}, "categories": {}}
        lines += [f"### `{name}`", "", f"Against `{v['baseline']}` (directory `{v['baseline_job']}`).", "",
                  "| category | gap | 95% interval | n | distinguishable from 0 |", "|---|---|---|---|---|"]
        for c, g in v["categories"].items():
            star = f" (without {', '.join(g['left_out'])})" if g.get("left_out") else ""
            lines.append(f"| {c}{star} | {_sgn(g['gap'])} | [{_sgn(g['ci95'][0])}, {_sgn(g['ci95'][1])}] | {g.get('n', '')} | "
                         f"{'yes' if g['distinguishable'] else 'no'} |")
        lines += [f"| {c} | undecided | | | {why} |" for c, why in undecided["categories"].items()]
        lines += ["", "| task | category | gap | 95% interval | n |", "|---|---|---|---|---|"]
        for t, g in v["tasks"].items():
            lines.append(f"| {t} | {g['category']} | {_sgn(g['gap'])} | [{_sgn(g['ci95'][0])}, {_sgn(g['ci95'][1])}] | {g['n']} |")
        category = {t: s["category"] for s in gaps["scores"].values() for t, s in s["tasks"].items()}
        lines += [f"| {t} | {category.get(t, '')} | undecided | | {why} |" for t, why in undecided["tasks"].items()]
        if undecided["tasks"]:
            lines += ["", "Undecided: no gap is reported where the baseline did not learn the task (its 95% interval "
                      "is not above chance and the context guess): against a baseline on the plateau a gap measures "
                      "which variant left it first, not what the mixer can do. Categories are judged on the tasks the "
                      "baseline learned."]
        lines.append("")
    return lines


def _spread(s: dict) -> str:
    return f"{_sgn(s['mean'])} | {100 * s['std']:.1f} | {_sgn(s['min'])} | {_sgn(s['max'])} | {s['n']}"


def _seeds(gaps) -> list[str]:
    seeds = {v: s for v, s in gaps.get("seeds", {}).items() if "gaps" in s}
    if not seeds:
        return []
    lines = ["## Gaps over training seeds", "",
             "Each seed's gap is taken against the baseline trained with the same seed, then aggregated: mean, "
             "sample standard deviation, lowest and highest seed (points). Seeds that did not train are left out.", ""]
    for variant, s in seeds.items():
        extra = f"; did not train: seeds {s['did_not_train_seeds']}" if s["did_not_train_seeds"] else ""
        lines += [f"### `{variant}` (seeds {s['gap_seeds']}{extra})", "",
                  "| category / task | mean gap | std | min | max | seeds |", "|---|---|---|---|---|---|"]
        lines += [f"| **{c}** | {_spread(g)} |" for c, g in s["gaps"]["categories"].items()]
        lines += [f"| {t} | {_spread(g)} |" for t, g in s["gaps"]["tasks"].items()]
        lines.append("")
    return lines


def _minimax(gaps) -> list[str]:
    rule = None
    rows = []
    for name, v in gaps["variants"].items():
        if v.get("did_not_train"):
            rows.append(f"| `{name}` | — ({DNT}) | | | | |")
            continue
        m = v.get("minimax")
        if not m:
            continue
        rule = m["rule"]
        ctl = _gap(m["control"]) if m.get("control") else "–"
        cells = []
        for t in rule["targets"]:
            tv = m["targets"].get(t)
            cells.append(f"{_gap(tv)}; vs control {_sgn(tv['diff'])} [{_sgn(tv['diff_ci95'][0])}, {_sgn(tv['diff_ci95'][1])}]"
                         if tv else "–")
        rows.append(f"| `{name}` | **{m['verdict']}** | {ctl} | " + " | ".join(cells) + f" | {m['reason']} |")
    if rule is None:
        return []
    t1, t2 = rule["targets"][:2] if len(rule["targets"]) > 1 else (rule["targets"][0], "")
    lines = [
        "## MiniMax check", "",
        f"MiniMax reported that its hybrid attention lost most on multi-hop reasoning and multi-turn work. "
        f"The check compares each variant's `{rule['control']}` (control) gap with its {' and '.join(f'`{t}`' for t in rule['targets'])} gaps:",
        "",
        f"- **holds**: the control gap is clean (its interval contains 0, or it is below {100 * rule['small']:.0f} points) "
        "and some target gap is above 0 (interval excludes 0) and above the control's (the interval of the difference excludes 0);",
        f"- **fails**: not holds, and either every target gap is below the control's (the difference's interval is below 0), "
        f"or no gap is distinguishable from 0 while every target has n ≥ {rule['n_powered']} examples "
        f"(enough to see a {100 * rule['effect']:.0f}-point gap at 95%/80% power) and an interval below {100 * rule['effect']:.0f} points;",
        "- **undecided**: otherwise.",
        "",
        f"| job | verdict | control gap | {t1} gap | {t2} gap | numbers |" if len(rule["targets"]) == 2
        else "| job | verdict | control gap | " + " | ".join(f"{t} gap" for t in rule["targets"]) + " | numbers |",
        "|---|---|---|" + "---|" * len(rule["targets"]) + "---|",
        *rows, "",
    ]
    seeds = {v: s["minimax"] for v, s in gaps.get("seeds", {}).items() if "minimax" in s}
    if seeds:
        lines += ["Over training seeds, a variant's verdict is its seeds' common verdict, else undecided:", "",
                  "| variant | verdict | per seed |", "|---|---|---|"]
        lines += [f"| `{v}` | **{m['verdict']}** | {', '.join(f'{s}: {x}' for s, x in m['per_seed'].items())} |" for v, m in seeds.items()]
        lines.append("")
    return lines


def _difficulty(sweep_dir, gaps, figs) -> list[str]:
    diff = gaps.get("difficulty") or {}
    if not diff:
        return []
    lines = ["## Accuracy vs difficulty", "",
             "Tasks that appear at several difficulties (suite entries with an `alias`). One seed: accuracy "
             "[95% interval]; several seeds: mean [lowest, highest seed].", ""]
    for task, d in diff.items():
        lines += [f"### {task} (vs `{d['knob']}`)", "",
                  "| variant | " + " | ".join(f"{d['knob']}={v}" for v in d["values"]) + " |",
                  "|---|" + "---|" * len(d["values"]),
                  "| chance | " + " | ".join(_pct(c) for c in d["chance"]) + " |"]
        for variant, s in d["scores"].items():
            cells = ["–" if m is None else f"{_pct(m)} [{_pct(lo)}, {_pct(hi)}]" for m, lo, hi in zip(s["mean"], s["lo"], s["hi"])]
            label = f"`{variant}`" + (f" ({DNT})" if s.get("did_not_train") else
                                      f" (seeds {s['did_not_train_seeds']} did not train; left out)" if s.get("did_not_train_seeds") else "")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
        key = f"difficulty/{task}"
        if key in figs:
            lines += [_img(sweep_dir, figs[key], f"{task} accuracy vs {d['knob']}"), "",
                      f"*Re-make: `hybrid-eval-report {sweep_dir}`*", ""]
    return lines


def _rate(x) -> str:
    return "–" if x is None else f"{x:g}"


def _budget(gaps) -> list[str]:
    """The training budget each comparison's variants share, with a warning where they differ."""
    lines = []
    for b in gaps.get("budgets") or []:
        sh, diff = b["shared"], b["differs"]
        parts = []
        if "steps" in sh:
            parts.append(f"{_v(sh['steps'])} steps")
        if sh.get("warmup_steps") is not None:
            parts.append(f"warmup {_v(sh['warmup_steps'])}")
        if "batch_size" in sh:
            parts.append(f"batch {_v(sh['batch_size'])}")
        if "lr_grid" in sh and sh["lr_grid"]:
            parts.append(f"learning-rate grid {', '.join(_rate(x) for x in sh['lr_grid'])} (best on validation per job)")
        elif "lr" in sh and "lr_grid" in sh:
            parts.append(f"lr {_rate(sh['lr'])}")
        tokens = sh.get("tokens") or {}
        if tokens:
            parts.append("tokens " + ", ".join(f"{t:,}" if t is not None else "–" for t in tokens.values())
                         + (f" (seeds {', '.join(tokens)})" if len(tokens) > 1 else ""))
        lines.append(f"- `{b['comparison']}` ({len(b['jobs'])} jobs): " + (", ".join(parts) or "nothing shared") + ".")
        for item, values in diff.items():
            shown = ", ".join(f"`{n}` {_rate(v) if item == 'lr' else _v(v)}" for n, v in values.items())
            lines.append(f"  - **Warning: the variants of this comparison differ in {item}**: {shown}. "
                         "Their gaps mix architecture with training budget.")
    if not lines:
        return []
    return ["Training budget shared by the variants of each comparison (from each job's results.json):", "", *lines, ""]


def _grid(gaps) -> list[str]:
    """Per job with a learning-rate grid: each rate's validation accuracy and final loss; the chosen in bold."""
    jobs = {n: s["train"]["lr_grid"] for n, s in gaps["scores"].items() if (s.get("train") or {}).get("lr_grid")}
    if not jobs:
        return []
    rates = sorted({r["lr"] for g in jobs.values() for r in g})
    lines = ["### Learning-rate grid", "",
             "Each job was trained once per rate from the same initial weights, seed and data order; among the runs that "
             "trained, the one with the highest validation accuracy (mean over tasks; ties: lower final loss, then lower "
             "lr) is the job's result, "
             "the only one evaluated on the test split. Cells: validation accuracy % (final training loss / "
             "validation loss); "
             "bold: chosen; † did not train; ↘ still improving.", "",
             "| job | " + " | ".join(f"lr {_rate(x)}" for x in rates) + " |", "|---|" + "---|" * len(rates)]
    for name, g in jobs.items():
        by = {r["lr"]: r for r in g}
        cells = []
        for x in rates:
            r = by.get(x)
            if r is None:
                cells.append("–")
                continue
            loss = "–" if r.get("final_loss") is None else f"{r['final_loss']:.3f}"
            if r.get("val_loss") is not None:
                loss += f" / {r['val_loss']:.3f}"
            val = "–" if r.get("val_accuracy") is None else _pct(r["val_accuracy"])
            mark = ("†" if r.get("did_not_train") else "") + ("↘" if r.get("still_improving") else "")
            cell = f"{val} ({loss}){mark}"
            cells.append(f"**{cell}**" if r.get("chosen") else cell)
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines + [""]


def _training(sweep_dir, gaps, figs) -> list[str]:
    lines = ["## Training", "", *_budget(gaps),
             "| job | params | steps | batch | lr | tokens | epochs | loss first → last (validation) | still improving at the end "
             "| best task vs chance | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in gaps["scores"].items():
        tr = s.get("train") or {}
        imp = tr.get("improving") or {}
        if imp.get("improving") is None:
            still = f"unknown (< {protocol.MIN_POINTS} points)"
        else:
            still = f"{'yes' if imp['improving'] else 'no'} ({1000 * imp['slope']:+.3f}/1k steps ± {1000 * imp['se']:.3f})"
        margin = max((v["score"] - v["chance"] for v in s["tasks"].values() if v.get("chance") is not None), default=0.0)
        loss = (f"{tr['initial_loss']:.3f} → {tr['final_loss']:.3f}" if tr.get("initial_loss") is not None
                and tr.get("final_loss") is not None else "–")
        if tr.get("val_loss") is not None:
            loss += f" ({tr['val_loss']:.3f})"
        epochs = "–" if tr.get("epochs") is None else f"{tr['epochs']:.1f}"
        label = f"`{name}`" + (f" **({DNT})**" if s.get("did_not_train") else "")
        params = f"{s['model']['params']:,}" if s["model"].get("params") is not None else "–"
        tokens = f"{tr['tokens']:,}" if tr.get("tokens") is not None else "–"
        secs = f"{tr['seconds']:.0f}" if tr.get("seconds") is not None else "–"
        lr = _v(tr.get("lr")) + (f" (best of {len(tr['lr_grid'])})" if tr.get("lr_grid") else "")
        lines.append(f"| {label} | {params} | {_v(tr.get('steps'))} | {_v(tr.get('batch_size'))} | {lr} | "
                     f"{tokens} | {epochs} | {loss} | {still} | {'+' if margin >= 0 else ''}{_pct(margin)} pts | {secs} |")
    lines += ["",
              f"Still improving (harness/train/protocol.py): a least-squares line through the logged loss of the last "
              f"{100 * protocol.TAIL:.0f}% of steps (at least {protocol.MIN_POINTS} points) falls by more than "
              f"{protocol.Z_SLOPE:g} standard errors of its slope and by at least {protocol.MIN_FALL:g} nats; a run that was "
              "still improving when its budget ended "
              "may rank differently with a larger budget. With a grid, the loss and convergence shown are the chosen run's "
              "and train s is the whole grid's.",
              "",
              "Epochs are passes over the training examples. Past one, examples repeat, and a training loss well below "
              "the validation loss (held-out examples, same tokens scored) is the training set being memorised, not "
              "recall learned in context: a probe can keep \"improving\" that way at chance on validation "
              "(reports/probe-training.md §11).",
              "",
              "A job whose results say `did_not_train` (training decides: its loss did not fall measurably, or its "
              "validation accuracy never cleared chance) gets no gap: its gaps would measure the optimiser, not the "
              "architecture.", "",
              "Train s is wall-clock time on whatever the machine was doing meanwhile (other jobs, other users; "
              "`threads` in each results.json): it compares mixers only between jobs that ran alone on the same "
              "hardware with the same threads, and the kernel benchmarks (benchmarks/) are the place for speed.", ""]
    lines += _grid(gaps)
    if "training/curves" in figs:
        lines += [_img(sweep_dir, figs["training/curves"], "training curves"), "",
                  f"*Re-make: `hybrid-eval-report {sweep_dir}`*", ""]
    return lines


def render(sweep_dir, gaps: dict, jobs: list[dict] | None = None, figs: dict | None = None) -> str:
    figs = figs or {}
    lines = [f"# hybrid-eval report: {Path(sweep_dir).name}", ""]
    if not gaps["scores"]:
        return "\n".join(lines + _header(sweep_dir, gaps) + ["No complete job in this directory yet."]) + "\n"
    lines += _header(sweep_dir, gaps)
    lines += _scores(gaps)
    lines += _gaps(sweep_dir, gaps, figs)
    lines += _seeds(gaps)
    lines += _minimax(gaps)
    lines += _difficulty(sweep_dir, gaps, figs)
    lines += _training(sweep_dir, gaps, figs)
    return "\n".join(lines)


def build(sweep_dir, baseline: str = "F", strict: bool = False) -> tuple[Path, dict, dict]:
    """Writes gaps.json, plots/*.png and report.md; returns (report path, gaps, {figure key: png path}).
    A baseline that is not a pattern of the jobs is a ConfigError with `strict` (the user named it: `--baseline X`);
    otherwise (the default baseline, a sweep of released hybrids or presets without `F`) the report lists the scores
    without gaps and says so in a warning: the jobs' results are never lost to a missing baseline."""
    sweep_dir = Path(sweep_dir)
    gaps, jobs = gaps_mod.for_sweep(sweep_dir, baseline)
    patterns = sorted({j["model"]["pattern"] for j in jobs if j.get("baseline_of") is None})
    if jobs and baseline not in patterns and strict:  # no gap could be measured
        raise ConfigError(f"baseline {baseline!r} is not a pattern of the jobs in {sweep_dir}; accepted: one of "
                          f"{', '.join(patterns)}")
    if jobs and baseline not in patterns and len(patterns) > 1:
        log.warning("baseline %r is not a pattern of the jobs in %s (%s): the report lists scores, no gaps to it",
                    baseline, sweep_dir, ", ".join(patterns))
    for line in gaps.get("damaged", []):
        log.warning("%s; this job is left out of the report (rerun the sweep to redo it)", line)
    from hybrid_eval.harness.report import plots  # matplotlib: only when figures are made, not whenever Hydra loads the callback

    figs = plots.write_all(sweep_dir, gaps, jobs, list(gaps["scores"])) if jobs else {}
    path = sweep_dir / "report.md"
    text = render(sweep_dir, gaps, jobs, figs)  # gaps.json and report.md land together: a kill leaves neither newer
    store.write_together({sweep_dir / "gaps.json": json.dumps(gaps, indent=1) + "\n", path: text})
    return path, gaps, figs


def write(sweep_dir, baseline: str = "F") -> Path:
    return build(sweep_dir, baseline)[0]


def main(argv=None) -> int:
    from hybrid_eval.harness.report import relog

    ap = argparse.ArgumentParser(prog="hybrid-eval-report", description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--baseline", default=None, help="the pattern every variant is compared with (default: F)")
    ap.add_argument("--wandb", action="store_true", help="also log a W&B report run (the sweep's logger settings)")
    ap.add_argument("--wandb-relog", default=None, metavar="MODE",
                    help="log every job (config, loss curve, scores, results) and the report as W&B runs from the saved "
                         "files, in this mode (offline | online), whatever the sweep's logger was (e.g. logger=none)")
    ap.add_argument("--wandb-project", default="hybrid-eval", help="with --wandb-relog: the W&B project")
    ap.add_argument("--wandb-entity", default=None, help="with --wandb-relog: the W&B entity (default: yours)")
    args = ap.parse_args(argv)
    if args.wandb_relog is not None and args.wandb_relog not in relog.MODES:
        print(f"hybrid-eval-report: error: --wandb-relog {args.wandb_relog!r}; accepted: {', '.join(relog.MODES)}",
              file=sys.stderr)
        return 2
    if not Path(args.sweep_dir).is_dir():
        print(f"hybrid-eval-report: error: {args.sweep_dir!r} is not a directory; give a sweep directory", file=sys.stderr)
        return 2
    try:
        path, gaps, figs = build(args.sweep_dir, args.baseline or "F", strict=args.baseline is not None)
    except ConfigError as e:
        print(f"hybrid-eval-report: error: {e}", file=sys.stderr)
        return 2
    print(path)
    if args.wandb:
        from hybrid_eval.harness.report import tracking

        run_dir = tracking.log_report(args.sweep_dir, gaps, figs)
        print(f"W&B report run: {run_dir}" if run_dir else "W&B: logger is off for this sweep")
    if args.wandb_relog:
        runs = relog.relog(args.sweep_dir, gaps, figs, args.wandb_relog, args.wandb_project, args.wandb_entity)
        print(f"W&B ({args.wandb_relog}): {len(runs) - 1} job runs and the report run" +
              (f"; the report's: {runs[-1]} (upload an offline run: wandb sync FOLDER)"
               if args.wandb_relog == "offline" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
