"""Section 12's figure: training loss and validation accuracy of the fresh-example runs beside section 11's
qwen3_next L on 50 000 examples (same seed, rate and schedule). Writes reports/probe-training/fresh/training_curves.png.

    python experiments/probe_training/fresh_curves.py
"""
import json
from pathlib import Path

from hybrid_eval.harness.report.plots import training_curves

R = Path(__file__).resolve().parents[2] / "reports" / "probe-training"
RUNS = [("qwen3_next L, 50k examples (5.1 epochs), seed 0", "protocol_lr/qwen3_next_L_3e-4_full", "qwen3_next L 50k", 0),
        ("qwen3_next L, fresh, seed 0", "fresh/qwen3_next_L_3e-4_fresh", "qwen3_next L fresh", 0),
        ("qwen3_next L, fresh, seed 1", "fresh/qwen3_next_L_3e-4_fresh_seed1", "qwen3_next L fresh", 1),
        ("kimi_linear F, fresh, seed 0", "fresh/kimi_linear_F_3e-4_fresh", "kimi_linear F fresh", 0)]
jobs, names = [], []
for name, stem, variant, seed in RUNS:
    d = json.loads((R / f"{stem}.results.json").read_text())
    jobs.append({"train": d["train"], "did_not_train": d["did_not_train"], "variant": variant, "seed": seed})
    names.append(name)
print(training_curves(jobs, names, R / "fresh")["training/curves"])
