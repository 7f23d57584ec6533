"""Installed as ``hydra_plugins.hybrid_eval_launcher``: Hydra instantiates launchers only from its ``hydra_plugins``
namespace, so this names the pack launcher there (the code is in ``hybrid_eval.harness.launch.pack``)."""
from hybrid_eval.harness.launch import pack


class PackLauncher(pack.PackLauncher):
    """``hydra/launcher=pack`` (conf/hydra/launcher/pack.yaml); see :mod:`hybrid_eval.harness.launch.pack`."""
