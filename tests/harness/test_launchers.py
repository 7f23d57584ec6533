"""The launcher presets in conf/hydra/launcher/ build on the Hydra plugins' own configs; they compose when
the plugins are installed (`pip install 'hybrid-eval[sweep]'`), and are skipped otherwise."""
import importlib.util

import pytest
from omegaconf import OmegaConf

from tests.conftest import CONF, compose_config

PRESETS = {"slurm": "submitit_slurm", "local_parallel": "joblib"}
PLUGINS = {"submitit_slurm": "hydra_plugins.hydra_submitit_launcher", "joblib": "hydra_plugins.hydra_joblib_launcher"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("preset,plugin", PRESETS.items())
def test_preset_extends_the_plugin_config(preset, plugin):
    cfg = OmegaConf.load(CONF / "hydra" / "launcher" / f"{preset}.yaml")
    assert list(cfg.defaults) == [plugin]


@pytest.mark.skipif(not installed(PLUGINS["submitit_slurm"]), reason="hydra-submitit-launcher not installed")
def test_slurm_preset_composes_with_overrides():
    c = compose_config(["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=60"])
    launcher = c.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.timeout_min, launcher.gpus_per_node, launcher.cpus_per_task) == ("gpu", 60, 1, 8)


@pytest.mark.skipif(not installed(PLUGINS["joblib"]), reason="hydra-joblib-launcher not installed")
def test_joblib_preset_composes_with_overrides():
    c = compose_config(["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=3"])
    assert c.hydra.launcher._target_.endswith("JoblibLauncher") and c.hydra.launcher.n_jobs == 3
