"""Named presets (hybrid_eval/models/presets.py): every preset builds its family and pattern at ±5% of the reference
parameters and takes a training step that lowers its loss; an unknown name, or a preset with a pattern override, is
one line naming what is accepted."""
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from hybrid_eval import models
from hybrid_eval.models.presets import SYSTEMS
from tests.models.families import cli_env


class WordTokenizer:
    """What models.build reads from a tokenizer: its length and special ids."""
    pad_token_id, eos_token_id = 0, 1

    def __len__(self):
        return 64


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_every_preset_builds_and_trains_one_step(name):
    cfg = OmegaConf.create({"family": "qwen3_next", "pattern": "F", "size": "tiny", "window": 8, "preset": name})
    models.validate(cfg)
    model, info = models.build(cfg, WordTokenizer(), seed=0)
    preset = SYSTEMS[name]
    assert (info["family"], info["pattern"], info["preset"]) == (preset.family, preset.pattern, name)
    assert abs(info["param_ratio"] - 1) <= 0.05
    assert ("window" in info) == ("S" in preset.pattern)
    family = models.get_family(preset.family)
    assert family.pattern_of(model.config) == preset.pattern
    # one AdamW step on a batch of 2 x 24 tokens lowers that batch's loss
    x = torch.randint(2, 64, (2, 24), generator=torch.Generator().manual_seed(0))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    before = model(input_ids=x, labels=x, use_cache=False).loss
    before.backward()
    opt.step()
    with torch.no_grad():
        after = model(input_ids=x, labels=x, use_cache=False).loss
    assert torch.isfinite(before) and after.item() < before.item()


def test_an_unknown_preset_lists_the_accepted_ones():
    cfg = OmegaConf.create({"family": "qwen3_next", "pattern": "F", "size": "tiny", "preset": "gpt5"})
    with pytest.raises(models.ModelConfigError, match="accepted") as err:
        models.validate(cfg)
    assert "model.preset='gpt5'" in str(err.value) and "gdn_h1" in str(err.value) and "\n" not in str(err.value)


def test_a_preset_with_a_pattern_sweep_is_one_line(tmp_path):
    # the default experiment sweeps model.pattern: a preset would replace every pattern silently
    out = subprocess.run([sys.executable, "-m", "hybrid_eval", "model.preset=gdn_h1", "logger=none",
                          "model.pattern=F", "~experiment", f"hydra.run.dir={tmp_path}"],
                         capture_output=True, text=True, cwd=tmp_path, env=cli_env())
    err = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(err) == 1 and "model.pattern=F" in err[0] and "accepted" in err[0], out.stderr
