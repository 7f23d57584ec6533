"""report.md sections and the PNG figures, rebuilt from a constructed sweep without rerunning anything."""
import json

import numpy as np
import pytest
from tests.harness.fake_sweep import paired, task, write_job, write_multirun_yaml

from hybrid_eval.harness.report import markdown as report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """F, LLLF and L at seeds 0 and 1 on short, reasoning (fact_chain at hops 2, 4, 8) and multi_turn; L
    loses 30 points on every reasoning task; LLLF seed 1 did not train; L seed 2 was expected but never ran."""
    root = tmp_path_factory.mktemp("sweep")
    for seed in (0, 1):
        for pattern, worse in (("F", 0.0), ("LLLF", 0.0), ("L", 0.3)):
            tasks = {"one_fact_qa": task("one_fact_qa", "short", paired(200, 0.9, 0, seed)[0], chance=1 / 16),
                     "fact_recall": task("fact_recall", "multi_turn", paired(200, 0.9, 0, seed + 1)[0], chance=1 / 16)}
            for h in (2, 4, 8):
                tasks[f"fact_chain_{h}"] = task("fact_chain", "reasoning", paired(200, 0.9, worse, seed + h)[1], chance=0.05, hops=h)
            flat = [[s, 5.0] for s in range(10, 110, 10)]
            write_job(root, pattern, seed, tasks, did_not_train=(pattern == "LLLF" and seed == 1) or None,
                      loss_curve=flat if pattern == "LLLF" and seed == 1 else None)
    write_multirun_yaml(root, "F,LLLF,L", "0,1,2")
    path = report.write(root)
    return root, path.read_text(), json.loads((root / "gaps.json").read_text())


def test_report_has_every_section(sweep):
    root, md, _ = sweep
    for section in ("## Scores", "## Gaps to the baseline", "## Gaps over training seeds", "## MiniMax check",
                    "## Accuracy vs difficulty", "## Training", "## Missing jobs"):
        assert section in md, section
    assert f"hybrid-eval-report {root}" in md
    assert "| task | knobs | category | chance |" in md  # chance beside every score


def test_report_numbers(sweep):
    _, md, g = sweep
    # L loses exactly 30 points on reasoning at both seeds and nothing on the control
    assert "| **reasoning** | +30.0 | 0.0 | +30.0 | +30.0 | 2 |" in md
    assert "| `qwen3_next:L:tiny:seed0` | **holds** |" in md
    assert g["seeds"]["qwen3_next:L:tiny"]["minimax"]["verdict"] == "holds"
    # LLLF seed 1 did not train: named, never given a gap or a verdict
    assert "`qwen3_next:LLLF:tiny:seed1`** (did not train)**" not in md
    assert "### `qwen3_next:LLLF:tiny:seed1`\n\n**did not train** — no gap is reported for it." in md
    assert "| `qwen3_next:LLLF:tiny:seed1` | — (did not train) |" in md
    # the missing job, and convergence per run
    assert "- `model.pattern=F seed=2` (no complete results)" in md
    assert "| `qwen3_next:L:tiny:seed0` | 1,001 | 100 | 4 | 0.003 | 1,234 | 4.0 | 5.000 → 2.300 (3.300) | yes (" in md
    assert "| `qwen3_next:LLLF:tiny:seed1` **(did not train)** | 1,004 | 100 | 4 | 0.003 | 1,234 | 4.0 | 5.000 → 5.000 (6.000) | no (" in md


def test_difficulty_table(sweep):
    _, md, g = sweep
    assert "### fact_chain (vs `hops`)" in md
    assert "| variant | hops=2 | hops=4 | hops=8 |" in md
    assert "| chance | 5.0 | 5.0 | 5.0 |" in md
    assert g["difficulty"]["fact_chain"]["values"] == [2, 4, 8]


def test_plots_are_valid_png_files_linked_relatively(sweep):
    root, md, _ = sweep
    names = ["gap_heatmap.png", "training_curves.png", "difficulty_fact_chain.png"]
    for name in names:
        data = (root / "plots" / name).read_bytes()
        assert data[:8] == PNG and len(data) > 1024, name
        assert f"](plots/{name})" in md


def test_rebuild_from_the_command_line(sweep, capsys):
    root, md, _ = sweep
    (root / "report.md").unlink()
    (root / "plots" / "gap_heatmap.png").unlink()
    assert report.main([str(root)]) == 0
    assert (root / "report.md").read_text() == md
    assert (root / "plots" / "gap_heatmap.png").read_bytes()[:8] == PNG
    assert report.main([str(root / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def _edit_train(job_dir, **changes):
    path = job_dir / "results.json"
    res = json.loads(path.read_text())
    res["train"].update(changes)
    path.write_text(json.dumps(res))


def grid(val_good, chosen_lr=3e-3):
    return [{"lr": lr, "val_accuracy": v, "final_loss": loss, "val_loss": vl, "did_not_train": dnt, "still_improving": imp,
             "chosen": lr == chosen_lr}
            for lr, v, loss, vl, dnt, imp in ((1e-7, 0.0, 4.9, 4.95, True, False), (3e-3, val_good, 0.35, 0.5, False, True))]


def test_budget_grid_and_convergence_per_variant(tmp_path):
    """F and L share 100 steps, batch 4, 1,234 tokens and a grid {1e-7, 3e-3}; L is still improving (falling loss),
    F is flat; then L's steps differ and the report warns."""
    scores = {"one_fact_qa": task("one_fact_qa", "short", paired(50, 0.9, 0)[0], chance=0.25)}
    flat = [[s, 1.0] for s in range(10, 110, 10)]
    f = write_job(tmp_path, "F", 0, scores, loss_curve=flat)
    ell = write_job(tmp_path, "L", 0, scores)  # 5.0 - 0.3 i: still falling
    _edit_train(f, lr_grid=grid(0.9))
    _edit_train(ell, lr_grid=grid(0.8))
    md = report.write(tmp_path).read_text()
    g = json.loads((tmp_path / "gaps.json").read_text())
    (b,) = g["budgets"]
    assert b["comparison"] == "qwen3_next:tiny" and b["differs"] == {}
    assert b["shared"] == {"steps": 100, "warmup_steps": 10, "batch_size": 4, "lr": None, "lr_grid": [1e-7, 3e-3],
                           "tokens": {"0": 1234}}
    assert ("- `qwen3_next:tiny` (2 jobs): 100 steps, warmup 10, batch 4, learning-rate grid 1e-07, 0.003 (best on validation "
            "per job), tokens 1,234.") in md
    assert "Warning" not in md
    assert "| `qwen3_next:F:tiny` | 1,001 | 100 | 4 | 0.003 (best of 2) | 1,234 | 4.0 | 1.000 → 1.000 (2.000) | no (+0.000/1k steps" in md
    assert "| `qwen3_next:L:tiny` | 1,001 | 100 | 4 | 0.003 (best of 2) | 1,234 | 4.0 | 5.000 → 2.300 (3.300) | yes (-30.000/1k steps" in md
    assert "| job | lr 1e-07 | lr 0.003 |" in md
    assert "| `qwen3_next:L:tiny` | 0.0 (4.900 / 4.950)† | **80.0 (0.350 / 0.500)↘** |" in md

    _edit_train(ell, steps=200, warmup_steps=50, lr_grid=None, lr=1e-3)
    md = report.write(tmp_path).read_text()
    (b,) = json.loads((tmp_path / "gaps.json").read_text())["budgets"]
    assert set(b["differs"]) == {"steps", "warmup_steps", "lr", "lr_grid"}
    assert "differ in warmup_steps**: `qwen3_next:F:tiny` 10, `qwen3_next:L:tiny` 50." in md
    assert b["differs"]["steps"] == {"qwen3_next:F:tiny": 100, "qwen3_next:L:tiny": 200}
    assert ("**Warning: the variants of this comparison differ in steps**: `qwen3_next:F:tiny` 100, "
            "`qwen3_next:L:tiny` 200.") in md
    assert "differ in lr**: `qwen3_next:F:tiny` –, `qwen3_next:L:tiny` 0.001." in md


def test_scores_at_the_context_guess_level_are_flagged(tmp_path):
    """F answers fact_recall at the level of "a stated city" (the pre-key-matching plateau): its score gets a dagger
    and the note; LLLF, well above it, does not."""
    guess = 1 / 4 + (3 / 4) / 16  # fact_recall's context_guess with 4 facts and 16 cities
    for pattern, acc in (("F", guess), ("LLLF", 0.9)):
        scores = (np.random.default_rng(3).random(400) < acc).astype(float)
        write_job(tmp_path, pattern, 0, {"fact_recall": task("fact_recall", "multi_turn", scores, chance=1 / 16,
                                                              context_guess=guess)})
    write_multirun_yaml(tmp_path, "F,LLLF", "0")
    md = report.write(tmp_path).read_text()
    assert "| task | knobs | category | chance | context guess | qwen3_next:F:tiny | qwen3_next:LLLF:tiny |" in md
    row = next(line for line in md.splitlines() if line.startswith("| fact_recall |"))
    f_cell, lllf_cell = row.strip("| ").split(" | ")[-2:]
    assert f_cell.endswith(" †") and not lllf_cell.endswith("†") and "| 29.7 |" in row
    assert "† the 95% interval contains the context-guess level" in md
