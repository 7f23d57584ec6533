"""Which job a variant is compared with. The baseline of a job is the job of the same family, size and seed whose
pattern is `baseline` (default `F`, full attention) and that agrees on every other swept override (its context,
variants.py); a family without that pattern uses its reference variant (DeepSeek-V3.2: `dense`). A pretrained job's
named baseline (`model.baseline_path`, loaded with `baseline_of` set) is that job's baseline."""
from __future__ import annotations


def baseline_pattern(family: str, jobs: list[dict], baseline: str) -> str:
    """`baseline`, or the family's reference variant when no job of the family has that pattern
    (DeepSeek-V3.2's variants are `dense` / `sparse`: its baseline is `dense`)."""
    if any(j["model"]["family"] == family and j["model"]["pattern"] == baseline for j in jobs):
        return baseline
    import hybrid_eval.models.catalog  # noqa: F401  (registers the families)
    from hybrid_eval.models.family import FAMILIES

    return FAMILIES[family].reference_pattern if family in FAMILIES else baseline


def is_baseline(job: dict, jobs: list[dict], baseline: str) -> bool:
    if job.get("baseline_of"):
        return True
    return job["model"]["pattern"] == baseline_pattern(job["model"]["family"], jobs, baseline)


def find_baseline(job: dict, jobs: list[dict], baseline: str) -> dict | None:
    """The baseline job of `job` among `jobs` (named by variants.name_jobs, which sets the context), or None."""
    for b in jobs:  # a pretrained job's named baseline checkpoint
        if b.get("baseline_of") and b["baseline_of"] == job["dir"]:
            return b
    m = job["model"]
    pattern = baseline_pattern(m["family"], jobs, baseline)
    for b in jobs:
        bm = b["model"]
        if (bm["pattern"] == pattern and b["seed"] == job["seed"] and bm["family"] == m["family"]
                and bm["size"] == m["size"] and b.get("context") == job.get("context") and not b.get("baseline_of")):
            return b
    return None
