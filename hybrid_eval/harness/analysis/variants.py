"""Names of a sweep's jobs. A job is `family:pattern:size` (its *variant*), plus `[key=value,...]` for the other
overrides that vary across the sweep (its *context*, e.g. a swept learning rate or task knob), plus `:seedN` when
the sweep has several training seeds; jobs that no override tells apart are named by their directory."""
from __future__ import annotations

# overrides that never make a variant (they change where or how a job runs, not what it is; a preset is its family
# and pattern, models/presets.py)
NOT_VARIANT = ("seed", "model.pattern", "model.family", "model.size", "model.preset", "device", "threads", "cache_dir",
               "logger", "experiment",
               # how a batch is split, not what is computed: the same gradient (train.micro_batch_tokens) and the
               # same answers (greedy evaluation in batches of any size, tests/harness/evaluate), so a sweep grown
               # with a smaller evaluation batch keeps pooling its seeds
               "train.micro_batch_tokens", "eval.batch_size", "eval.batch_tokens",
               # model=endpoint: the served name is the job's pattern; where and how it is asked is not a variant
               "model.name", "model.base_url", "model.api_key_env", "model.concurrency", "model.timeout_s",
               "model.max_retries", "model.backoff_s", "model.cache", "model.cache_dir")


def variant_name(job: dict, with_seed: bool) -> str:
    m = job["model"]
    name = f"{m['family']}:{m['pattern']}:{m['size']}"
    return f"{name}:seed{job['seed']}" if with_seed else name


def name_jobs(jobs: list[dict]) -> list[str]:
    """Sets job["variant"] and job["context"] (the swept overrides beyond the model, for matching baselines)
    and returns each job's name."""
    ov = [dict(o.split("=", 1) for o in (j.get("overrides") or []) if "=" in o) for j in jobs]
    keys = sorted({k for d in ov for k in d if k not in NOT_VARIANT and not k.startswith(("hydra", "logger."))})
    if not any((j.get("train") or {}).get("stopped_at_step") for j in jobs):
        # a time limit that stopped no job changed nothing it computed: jobs grown under another limit pool their
        # seeds (one that did stop a job keeps its jobs apart, and the report's budget check names the difference)
        keys = [k for k in keys if k != "train.max_seconds"]
    varying = [k for k in keys if len({d.get(k) for d in ov}) > 1]
    for j, d in zip(jobs, ov):
        j["context"] = ",".join(f"{k}={d.get(k)}" for k in varying)
        j["variant"] = variant_name(j, False) + (f"[{j['context']}]" if varying else "")
    with_seed = len({j["seed"] for j in jobs}) > 1
    names = [j["variant"] + (f":seed{j['seed']}" if with_seed else "") for j in jobs]
    if len(set(names)) < len(names):  # jobs differ in something no override shows: name them by directory
        for j in jobs:
            j["variant"], j["context"] = j["dir"], j["dir"]
        names = [j["dir"] for j in jobs]
    return names
