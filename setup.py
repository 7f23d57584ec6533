"""Package discovery for setuptools (metadata lives in pyproject.toml).

The Hydra configs stay in conf/ at the top of the repository and install as the package data `harness.conf`,
so `hybrid-eval` finds them from a clone, an editable install and a wheel alike (harness/__main__.py).
"""
from setuptools import find_namespace_packages, find_packages, setup

code = find_packages(include=["harness*", "models*", "kernels*", "tasks*"])
conf = ["harness.conf"] + [f"harness.conf.{p}" for p in find_namespace_packages(where="conf")]

setup(
    packages=code + conf,
    package_dir={"harness.conf": "conf"},
    package_data={p: ["*.yaml"] for p in conf},
)
