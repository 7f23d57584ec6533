"""A sweep of presets (`model.preset=minimax_m1,minimax_swa,minimax_m2`) is a sweep of family:pattern variants: the
preset names no context, so every hybrid finds the all-full preset (`F`) as its baseline."""
from hybrid_eval.harness.analysis.baselines import find_baseline
from hybrid_eval.harness.analysis.variants import name_jobs


def test_a_preset_sweep_pairs_each_hybrid_with_the_full_preset():
    jobs = [{"dir": f"j{i}", "seed": 0, "overrides": [f"model.preset={name}", "model.size=tiny"],
             "model": {"family": "minimax", "pattern": pattern, "size": "tiny"}}
            for i, (name, pattern) in enumerate([("minimax_m1", "LLLLLLLF"), ("minimax_swa", "SSSSSSSF"),
                                                 ("minimax_m2", "F")])]
    assert name_jobs(jobs) == ["minimax:LLLLLLLF:tiny", "minimax:SSSSSSSF:tiny", "minimax:F:tiny"]
    assert [find_baseline(j, jobs, "F")["dir"] for j in jobs] == ["j2", "j2", "j2"]
