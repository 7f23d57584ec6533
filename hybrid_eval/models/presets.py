"""Named presets: the seed systems' layouts as (family, pattern), so `model.preset=gdn_h1` needs no letter string.

A preset sets `model.family` and `model.pattern` (and nothing else: size, window and init stay the run's), and wins
over both; `check_overrides` refuses a command line that also sets either (the default experiment sweeps
`model.pattern`, so a preset runs with `~experiment`, or as a sweep of presets:
`hybrid-eval -m ~experiment model.preset=minimax_m1,minimax_swa,minimax_m2`). Each entry names the paper or report
whose layout it follows; the README's Models table lists them.
"""
from __future__ import annotations

from dataclasses import dataclass

from hybrid_eval.models.family import ModelConfigError


@dataclass(frozen=True)
class SystemPreset:
    family: str
    pattern: str
    follows: str  # the system and the paper or report whose layer layout this is


SYSTEMS = {
    "gdn_h1": SystemPreset("qwen3_next", "LS", "Gated DeltaNet-H1: Gated DeltaNet alternating with sliding-window "
                                               "attention (Yang et al., Gated Delta Networks, ICLR 2025)"),
    "qwen3_next": SystemPreset("qwen3_next", "LLLF", "Qwen3-Next: Gated DeltaNet 3:1 gated attention (Qwen team, 2025)"),
    "kimi_linear": SystemPreset("kimi_linear", "LLLF", "Kimi Linear: KDA 3:1 MLA (Moonshot AI, arXiv 2510.26692)"),
    "minimax_m1": SystemPreset("minimax", "LLLLLLLF", "MiniMax-01 / MiniMax-M1: lightning attention 7:1 softmax "
                                                      "attention (MiniMax, arXiv 2501.08313, 2506.13585)"),
    "minimax_swa": SystemPreset("minimax", "SSSSSSSF", "MiniMax's sliding-window hybrid: the 7:1 layout with sliding-"
                                                       "window attention in place of lightning (MiniMax-01's ablation; "
                                                       "the hybrids of the M2 report, arXiv 2605.26494)"),
    "minimax_m2": SystemPreset("minimax", "F", "MiniMax-M2: full attention in every layer (M2 report, arXiv 2605.26494)"),
    "deepseek_v32": SystemPreset("deepseek_v32", "sparse", "DeepSeek-V3.2: DSA top-k sparse MLA in every layer "
                                                           "(DeepSeek-AI, 2025)"),
    "deepseek_v32_dense": SystemPreset("deepseek_v32", "dense", "DeepSeek-V3.2's dense MLA (V3.1-Terminus, its "
                                                                "baseline and the dense warm-up stage)"),
}


def preset_of(model_cfg) -> SystemPreset | None:
    """The preset `model_cfg.preset` names, None when unset; ModelConfigError (one line) for an unknown name."""
    name = model_cfg.get("preset") if hasattr(model_cfg, "get") else None
    if name is None:
        return None
    if str(name) not in SYSTEMS:
        raise ModelConfigError(f"model.preset={name!r} is not a preset; accepted: {', '.join(SYSTEMS)}")
    return SYSTEMS[str(name)]


def name_of(family: str, pattern: str) -> str | None:
    """The preset whose layout is `family` at `pattern` (a report names the system it is), None for other layouts."""
    return next((name for name, p in SYSTEMS.items() if (p.family, p.pattern) == (str(family), str(pattern))), None)


def apply(model_cfg):
    """`model_cfg` with its preset's family and pattern (an OmegaConf copy), or `model_cfg` itself without one."""
    preset = preset_of(model_cfg)
    if preset is None:
        return model_cfg
    from omegaconf import OmegaConf

    out = OmegaConf.create(OmegaConf.to_container(model_cfg, resolve=True))
    out.family, out.pattern = preset.family, preset.pattern
    return out


def check_overrides(model_cfg, overrides: list[str]) -> None:
    """Refuse (one line) a preset given together with a `model.family` or `model.pattern` override (the default
    experiment's pattern sweep included): the preset would silently replace them."""
    if preset_of(model_cfg) is None:
        return
    clash = [o for o in overrides if o.lstrip("+~").split("=")[0] in ("model.family", "model.pattern")]
    if clash:
        raise ModelConfigError(f"model.preset={model_cfg.preset} sets model.family and model.pattern, but the command "
                               f"line also sets {', '.join(clash)}; accepted: a preset with ~experiment and without "
                               f"model.family / model.pattern, e.g. hybrid-eval ~experiment model.preset=gdn_h1")
