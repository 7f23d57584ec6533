"""A job's fingerprints: what decides its weights and what decides its results (README "Resuming and integrity").

    weights  = the resolved model config, the whole train config, the training seed, the suite's data (every task's
               name, alias, version and knobs, the data seed, the plugin files' SHA-256) and the test split's size
               (the probe tokenizer's vocabulary is built from every split)
    results  = weights + the whole eval config

The checkpoint stores the first (checkpoint/integrity.json), results.json both; a rerun reuses either only when it
matches (harness/store.py). The package version is recorded beside them, not compared: a release that changes
numbers bumps a task's `version` or a config default, which the fingerprints see.
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from hybrid_eval.harness import store


def _plain(cfg) -> dict:
    return OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg or {})


def plugin_files(suite_cfg) -> dict[str, str]:
    """{path: SHA-256} of each `suite.include` entry that is a file (a module name is recorded as given)."""
    out = {}
    for spec in suite_cfg.get("include") or []:
        path = Path(str(spec)).expanduser()
        out[str(spec)] = store.file_record(path)["sha256"] if path.is_file() else "module"
    return out


def data(suite, suite_cfg) -> dict:
    """What decides the suite's examples: tasks (name, alias, version, knobs), data seed, plugin files."""
    return {"suite": suite.name, "seed": int(suite_cfg.seed), "plugins": plugin_files(suite_cfg),
            "tasks": [{"alias": t.alias, "name": t.name, "version": getattr(t, "version", None), "knobs": t.knob_dict()}
                      for t in suite.tasks]}


def weights_extra(cfg, suite) -> dict:
    """The job's part of the weights fingerprint (train_probe adds the train config and the seed)."""
    return {"model": _plain(cfg.model), "data": data(suite, cfg.suite), "n_test": cfg.eval.n_test}


def results(cfg, suite) -> dict:
    """Everything that decides a job's results.json and samples.jsonl."""
    return {"train": _plain(cfg.train), "seed": int(cfg.seed), **weights_extra(cfg, suite), "eval": _plain(cfg.eval)}

