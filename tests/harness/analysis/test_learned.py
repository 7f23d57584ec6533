"""No gap against a baseline that did not learn the task (hybrid_eval/harness/analysis/learned.py): constructed
sweeps whose baseline sits at chance or at the context guess on some tasks; their gaps are withheld with the reason,
categories are judged on the learned tasks, and the MiniMax check is undecided where the baseline did not converge."""
import numpy as np
import pytest
from tests.harness.fake_sweep import paired, task, write_job

from hybrid_eval.harness.analysis import gaps
from hybrid_eval.harness.analysis.learned import unlearned_reason
from hybrid_eval.harness.analysis.minimax import minimax_check


@pytest.mark.parametrize("summary,reason", [
    ({"score": 0.9, "ci95": [0.85, 0.95], "chance": 0.1, "context_guess": 0.3}, None),
    ({"score": 0.12, "ci95": [0.08, 0.16], "chance": 0.1, "context_guess": None},
     "not above chance (12.0 [8.0, 16.0]; chance 10.0)"),
    ({"score": 0.125, "ci95": [0.116, 0.134], "chance": 0.016, "context_guess": 0.139},  # the default run's F on mqar
     "not above its context guess (12.5 [11.6, 13.4]; context guess 13.9)"),
    ({"score": 0.33, "ci95": [0.29, 0.37], "chance": 0.06, "context_guess": 0.297},
     "not above its context guess (33.0 [29.0, 37.0]; context guess 29.7)"),
    ({"score": 0.36, "ci95": [0.31, 0.41], "chance": 0.06, "context_guess": 0.297}, None),
])
def test_a_task_is_learned_when_its_interval_clears_chance_and_the_context_guess(summary, reason):
    assert unlearned_reason(summary) == reason


N = 500


def sweep(tmp_path, acc_mt: float, guess_mt: float, worse_mt: float, worse_rs: float = 0.0):
    """F and L on short (learned), reasoning (learned) and two multi_turn tasks whose baseline accuracy is
    `acc_mt` against a context guess `guess_mt`; L loses `worse_*` of F's correct answers."""
    rng = [paired(N, 0.9, 0.0, seed=1), paired(N, 0.8, worse_rs, seed=2),
           paired(N, acc_mt, worse_mt, seed=3), paired(N, acc_mt, worse_mt, seed=4)]
    spec = [("one_fact_qa", "short", 0.06, None), ("fact_chain", "reasoning", 0.1, None),
            ("fact_recall", "multi_turn", 0.06, guess_mt), ("mrcr", "multi_turn", 0.06, guess_mt)]
    for pattern, side in (("F", 0), ("L", 1)):
        write_job(tmp_path, pattern, 0, {name: task(name, cat, pair[side], chance=chance, context_guess=guess)
                                         for (name, cat, chance, guess), pair in zip(spec, rng)})
    out = gaps.compute(gaps.load_jobs(tmp_path))
    (name,) = [n for n in out["variants"]]
    return out["variants"][name]


def test_a_baseline_at_the_context_guess_gives_no_gap_and_an_undecided_check(tmp_path):
    v = sweep(tmp_path, acc_mt=0.3, guess_mt=0.3, worse_mt=0.2)  # L is 20 points worse on multi_turn, but F is at the guess
    assert set(v["tasks"]) == {"one_fact_qa", "fact_chain"} and "multi_turn" not in v["categories"]
    assert set(v["undecided"]["tasks"]) == {"fact_recall", "mrcr"}
    assert v["undecided"]["tasks"]["mrcr"] == "baseline `qwen3_next:F:tiny` not above its context guess (25.6 [21.8, 29.4]; context guess 30.0)"
    assert v["undecided"]["categories"]["multi_turn"].startswith("baseline `qwen3_next:F:tiny` learned none of its tasks")
    m = v["minimax"]
    assert m["verdict"] == "undecided"  # no multi_turn to judge, and reasoning shows no gap: not "fails"
    assert "baseline not converged on multi_turn (fact_recall not above its context guess" in m["reason"]


def test_the_same_gaps_against_a_baseline_that_learned_the_tasks_hold(tmp_path):
    v = sweep(tmp_path, acc_mt=0.8, guess_mt=0.3, worse_mt=0.2)
    assert not v["undecided"]["tasks"] and v["categories"]["multi_turn"]["gap"] == pytest.approx(0.2)
    assert v["minimax"]["verdict"] == "holds"


def test_a_category_is_judged_on_the_tasks_the_baseline_learned(tmp_path):
    """fact_recall learned, mrcr at chance: the multi_turn gap is fact_recall's alone, and the check says so."""
    b_ok, v_ok = paired(N, 0.8, 0.2, seed=3)
    b_no, v_no = paired(N, 0.05, 0.0, seed=4)
    for pattern, side in (("F", 0), ("L", 1)):
        write_job(tmp_path, pattern, 0, {
            "one_fact_qa": task("one_fact_qa", "short", paired(N, 0.9, 0, seed=1)[side], chance=0.06),
            "fact_recall": task("fact_recall", "multi_turn", (b_ok, v_ok)[side], chance=0.06),
            "mrcr": task("mrcr", "multi_turn", (b_no, v_no)[side], chance=0.06)})
    v = gaps.compute(gaps.load_jobs(tmp_path))["variants"]
    (v,) = v.values()
    mt = v["categories"]["multi_turn"]
    assert mt["gap"] == pytest.approx(0.2) and mt["n"] == N and mt["left_out"] == ["mrcr"]
    assert v["minimax"]["verdict"] == "holds"
    assert "judged on the tasks the baseline learned, left out: mrcr not above chance" in v["minimax"]["reason"]


def test_an_unconverged_control_makes_the_check_undecided():
    short = tuple([x] for x in paired(N, 0.9, 0.0))
    target = tuple([x] for x in paired(N, 0.8, 0.3, seed=1))
    r = minimax_check({"reasoning": target}, left_out={"short": ["one_fact_qa not above chance (5.0 [3.0, 7.0]; chance 6.2)"]})
    assert r["verdict"] == "undecided" and r["reason"].startswith("baseline not converged on short (one_fact_qa not above")
    assert minimax_check({"short": short, "reasoning": target})["verdict"] == "holds"  # the same gaps, control learned


def test_fails_needs_every_target_judged():
    """Equal everywhere it is judged (a powered 'no gap') fails only when no target was left out entirely."""
    eq = lambda s: tuple([x] for x in paired(N, 0.8, 0.0, seed=s))  # noqa: E731
    assert minimax_check({"short": eq(1), "reasoning": eq(2), "multi_turn": eq(3)})["verdict"] == "fails"
    r = minimax_check({"short": eq(1), "reasoning": eq(2)}, left_out={"multi_turn": ["mrcr not above chance (...)"]})
    assert r["verdict"] == "undecided" and "baseline not converged on multi_turn (mrcr" in r["reason"]
    assert np.isclose(r["targets"]["reasoning"]["gap"], 0.0)


def test_a_task_no_variant_learned_is_named_as_such_in_gaps_and_report(tmp_path):
    """Issue 23: a task (or a ladder's rung) that no variant learns is reported as learned by no variant, with the best
    job's reason, never as a gap; a task one variant learned is not listed, even when the baseline did not learn it."""
    from hybrid_eval.harness.report import markdown as report

    at_guess = paired(N, 0.3, 0.0, seed=5)  # every job at the context guess of 0.3
    hybrid_only = (paired(N, 0.2, 0.0, seed=6)[0], paired(N, 0.8, 0.0, seed=7)[0])  # F at its guess, L learns it
    for pattern, side in (("F", 0), ("L", 1)):
        write_job(tmp_path, pattern, 0, {
            "one_fact_qa": task("one_fact_qa", "short", paired(N, 0.9, 0.0, seed=1)[side], chance=0.06),
            "mqar_16": task("mqar", "long_context", at_guess[side], chance=0.016, context_guess=0.3, n_pairs=16),
            "mqar_4": task("mqar", "long_context", hybrid_only[side], chance=0.016, context_guess=0.2, n_pairs=4)})
    path, out, _ = report.build(tmp_path)
    assert list(out["learned_by_none"]) == ["mqar_16"]
    assert out["learned_by_none"]["mqar_16"].startswith("best job not above its context guess (")
    assert "mqar_16" not in out["variants"]["qwen3_next:L:tiny"]["tasks"]
    assert "**Learned by no variant**" in path.read_text() and "`mqar_16` (best job not above" in path.read_text()
