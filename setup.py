"""Package discovery for setuptools (metadata lives in pyproject.toml).

Everything importable lives under `hybrid_eval` (hybrid_eval/kernels, models, tasks, harness). The Hydra configs
stay in conf/ at the top of the repository and install as the package data `hybrid_eval/conf`, so `hybrid-eval`
finds them from a clone, an editable install and a wheel alike (`hybrid_eval.config_dir`). The one name outside
`hybrid_eval` is Hydra's plugin namespace entry `hydra_plugins.hybrid_eval_launcher` (the pack launcher). benchmarks/,
experiments/, reports/ and tests/ are not installed.
"""
from setuptools import find_namespace_packages, find_packages, setup

code = find_packages(include=["hybrid_eval", "hybrid_eval.*"])
conf = ["hybrid_eval.conf"] + [f"hybrid_eval.conf.{p}" for p in find_namespace_packages(where="conf")]

# Hydra instantiates launchers only from its `hydra_plugins` namespace: the pack launcher is named there.
plugin = "hydra_plugins.hybrid_eval_launcher"

setup(
    packages=code + conf + [plugin],
    package_dir={"hybrid_eval.conf": "conf", plugin: "hybrid_eval/harness/launch/hydra_plugin"},
    package_data={p: ["*.yaml"] for p in conf},
)
