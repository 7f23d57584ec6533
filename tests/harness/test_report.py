"""report.md sections and the PNG figures, rebuilt from a constructed sweep without rerunning anything."""
import json

import pytest
from fake_sweep import paired, task, write_job, write_multirun_yaml

from harness import report

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
    assert f"python -m harness.report {root}" in md
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
    assert "| `qwen3_next:L:tiny:seed0` | 1,001 | 100 | 4 | 0.003 | 1,234 | 5.000 → 2.300 | yes (" in md
    assert "| `qwen3_next:LLLF:tiny:seed1` **(did not train)** | 1,004 | 100 | 4 | 0.003 | 1,234 | 5.000 → 5.000 | no (" in md


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
