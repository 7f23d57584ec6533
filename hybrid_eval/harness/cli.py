"""`hybrid-eval` (= `python -m hybrid_eval`): the Hydra entry point (default experiment: `quick`)."""
from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from hybrid_eval import config_dir


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from hybrid_eval.harness.progress import quiet

    if quiet() or not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    logging.getLogger("datasets").setLevel(logging.ERROR)


def job(cfg: DictConfig) -> None:
    """One job of a run or sweep (the task function: a plain module-level function, so launchers that start jobs in
    other processes, such as hydra/launcher=pack, can pickle it by name)."""
    _quiet_libraries()
    from hybrid_eval.harness.errors import user_errors
    from hybrid_eval.harness.run import run_job

    with user_errors():
        from hybrid_eval.models.presets import check_overrides

        check_overrides(cfg.model, list(HydraConfig.get().overrides.task))  # a preset is not silently overridden
        run_job(cfg, Path(HydraConfig.get().runtime.output_dir))


def _register_launchers() -> None:
    """Hydra finds plugins by walking the `hydra_plugins` namespace on disk, which an editable install does not
    expose; so the pack launcher (installed as hydra_plugins.hybrid_eval_launcher) is registered by name here."""
    from hydra.core.plugins import Plugins

    try:
        from hydra_plugins.hybrid_eval_launcher import PackLauncher
    except ImportError:  # a source checkout on PYTHONPATH, not installed: every launcher but pack still works
        return
    Plugins.instance().register(PackLauncher)


_register_launchers()
main = hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")(job)


if __name__ == "__main__":
    main()
