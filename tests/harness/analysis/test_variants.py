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


def test_batch_splitting_knobs_do_not_make_a_variant_but_a_learning_rate_does():
    """A sweep grown with seed 2 at another evaluation batch (or micro-batch) pools it with seeds 0-1; a swept
    learning rate stays a context."""
    def job(i, seed, *extra):
        return {"dir": f"j{i}", "seed": seed, "overrides": ["model.pattern=F", f"seed={seed}", *extra],
                "model": {"family": "qwen3_next", "pattern": "F", "size": "base"}}
    jobs = [job(0, 0), job(1, 1), job(2, 2, "eval.batch_size=16", "eval.batch_tokens=8192",
                                        "train.micro_batch_tokens=8192")]
    assert name_jobs(jobs) == [f"qwen3_next:F:base:seed{s}" for s in (0, 1, 2)]
    assert {j["variant"] for j in jobs} == {"qwen3_next:F:base"}
    jobs.append(job(3, 0, "train.lr=1e-3"))
    assert name_jobs(jobs)[3] == "qwen3_next:F:base[train.lr=1e-3]:seed0"


def test_a_time_limit_splits_a_variant_only_where_it_stopped_a_job():
    """Seeds grown in a later call under another `train.max_seconds` pool with the first ones when every job ran its
    full `max_steps` (the limit changed nothing); once the limit stopped a job early, the limits stay a context."""
    def job(i, seed, seconds, stopped=None):
        return {"dir": f"j{i}", "seed": seed, "overrides": ["model.pattern=F", f"seed={seed}",
                                                             f"train.max_seconds={seconds}"],
                "model": {"family": "minimax", "pattern": "F", "size": "base"},
                "train": {"steps": stopped or 800, "stopped_at_step": stopped}}
    jobs = [job(0, 0, 190), job(1, 1, 190), job(2, 2, 300)]
    assert name_jobs(jobs) == [f"minimax:F:base:seed{s}" for s in (0, 1, 2)]
    jobs[2] = job(2, 2, 300, stopped=548)
    assert name_jobs(jobs) == ["minimax:F:base[train.max_seconds=190]:seed0",
                               "minimax:F:base[train.max_seconds=190]:seed1",
                               "minimax:F:base[train.max_seconds=300]:seed2"]
