"""The jobs of a sweep directory: the complete ones (results, samples, overrides), the ones that started and did not
finish, and the ones the sweep should hold but does not.

The expected jobs follow Hydra's basic sweeper: `multirun.yaml` saves the sweeper's params and the command-line
overrides; each is parsed with Hydra's public override parser and the sweeps among them are expanded into their
cartesian product, in the basic sweeper's order (one list of choices per key, keys in first-seen order, a key given
again replacing its choices in place; the last key varies fastest).
"""
from __future__ import annotations

import itertools
from pathlib import Path

from hybrid_eval.harness import store


def _overrides(d: Path) -> list[str] | None:
    path = d / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.load(path)]


def _job_number(d: Path) -> int | None:
    """The job's number in its sweep (Hydra's `hydra.job.num`, in launch order), or None without .hydra/hydra.yaml."""
    path = d / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    num = OmegaConf.select(OmegaConf.load(path), "hydra.job.num")
    return num if isinstance(num, int) else None


def load_jobs(sweep_dir) -> list[dict]:
    """Every complete job under `sweep_dir` (one level down), with its samples, directory and overrides, in the
    sweep's own order (Hydra's job number: `model.pattern=F,LLLF,L` reports F, LLLF, L), then by directory.

    A pretrained job's named baseline (`model.baseline_path`, evaluated into `<job>/baseline/`) is loaded too,
    marked `baseline_of` its job; a single run's directory is itself a job, with its baseline below it.
    """
    root = Path(sweep_dir)

    def order(d: Path):
        num = _job_number(d)
        return (num is None, num or 0, d.name)

    dirs = [root] if store.is_complete(root) else sorted((d for d in root.iterdir() if d.is_dir()), key=order)
    jobs = []
    for d in dirs:
        if not store.is_complete(d):
            continue
        for job_dir, of in ((d, None), (d / store.BASELINE_DIR, d.name)):
            if of is not None and not store.is_complete(job_dir):
                continue
            res = store.read_json(job_dir / store.RESULTS)
            res["samples"] = store.read_jsonl(job_dir / store.SAMPLES)
            res["dir"] = job_dir.name if of is None else f"{d.name}/{store.BASELINE_DIR}"
            res["overrides"] = _overrides(d)
            res["baseline_of"] = of
            jobs.append(res)
    return jobs


def incomplete_dirs(sweep_dir) -> list[str]:
    """Job directories that started (Hydra wrote .hydra/ or a results file exists) but are not complete, each with
    the reason its launcher recorded (failure.txt: "0: GPU out of memory: ..."), if any."""
    out = []
    for d in sorted(Path(sweep_dir).iterdir()):
        if d.is_dir() and ((d / ".hydra").is_dir() or (d / store.RESULTS).exists()) and not store.is_complete(d):
            reason = (d / store.FAILURE).read_text().strip() if (d / store.FAILURE).is_file() else ""
            out.append(f"{d.name}: {reason}" if reason else d.name)
    return out


def damaged_files(sweep_dir) -> list[str]:
    """One line per job directory whose results.json exists but is damaged (unreadable, or samples.jsonl cut or
    changed since results.json recorded it): such a job is left out of the report and named instead."""
    root = Path(sweep_dir)
    dirs = [root] + sorted(d for d in root.iterdir() if d.is_dir())
    out = []
    for d in dirs:
        problem = store.job_problem(d) if (d / store.RESULTS).exists() else None
        if problem is not None and problem[0] == "damaged":
            out.append(problem[1])
    return out


def expand(overrides: list[str]) -> list[list[str]]:
    """The override list of every job a basic-sweeper multirun over `overrides` launches, in its launch order.

    `seed=0,1 model.pattern=F,L` gives [seed=0 model.pattern=F], [seed=0 model.pattern=L], [seed=1 ...], ...;
    choice(...), range(...) and comma lists expand, every other override is kept as Hydra prints its value.
    An interval sweep (which the basic sweeper cannot run) is a ValueError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    choices: dict[str, list[str]] = {}  # insertion order; a key given again keeps its place, takes the new choices
    for o in OverridesParser.create().parse_overrides(overrides):
        key = o.get_key_element()
        if not o.is_sweep_override():
            choices[key] = [f"{key}={o.get_value_element_as_str()}"]
        elif o.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in o.sweep_string_iterator()]
        else:
            raise ValueError(f"{o.input_line}: the basic sweeper expands choice and range sweeps, not intervals")
    return [list(job) for job in itertools.product(*choices.values())]


def expected_jobs(sweep_dir) -> list[list[str]] | None:
    """The override list of every job of the sweep, as Hydra's basic sweeper expands `multirun.yaml`
    (sweeper params, then command-line overrides); None when unknown (no multirun.yaml, another sweeper)."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(path)
        sweeper = cfg.hydra.sweeper
        if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
            return None
        args = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
        args += [str(o) for o in cfg.hydra.overrides.task]
        return expand(args)
    except Exception:  # an unreadable or unusual multirun.yaml: report nothing rather than guess
        return None


def missing_jobs(expected: list[list[str]] | None, jobs: list[dict]) -> list[str]:
    """Expected jobs without a complete result, each as its swept overrides (`model.pattern=L seed=1`)."""
    if not expected:
        return []
    found = {frozenset(j["overrides"]) for j in jobs if j.get("overrides") is not None}
    values: dict[str, set[str]] = {}
    for o in itertools.chain(*expected):
        key, _, value = o.partition("=")
        values.setdefault(key, set()).add(value)
    swept = {k for k, v in values.items() if len(v) > 1}
    return [" ".join(o for o in job if o.partition("=")[0] in swept) or " ".join(job)
            for job in expected if frozenset(job) not in found]
