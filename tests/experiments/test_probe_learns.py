"""Regression test for the probe-init fix (reports/probe-training.md): a tiny pure Gated DeltaNet probe learns
easy MQAR within a fixed small budget with the recipe init (`Qwen3Next.init_probe`), and does not with transformers'
init. Trained in experiments/mqar_probe.py's bare-token format, which isolates the mixer and its init."""
import pytest
import torch

from mqar_probe import parser, run

pytestmark = pytest.mark.slow
ARGS = ["unused.jsonl", "unused", "--d", "64", "--layers", "2", "--kv", "4", "--seq", "16", "--keys", "16",
        "--values", "16", "--batch", "32", "--steps", "200", "--eval-every", "200"]


def test_pure_linear_probe_clears_chance_only_with_the_recipe_init():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = parser().parse_args(ARGS)
        recipe = run("qwen3_next:L:recipe:1e-3", a, torch.device("cpu"))
        hf = run("qwen3_next:L:transformers:1e-3", a, torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    assert recipe["chance"] == 1 / 16
    # measured on the 2-core CPU: recipe 97.3%, transformers' init 18.1% after 200 steps (chance 6.25%)
    assert recipe["acc"] > 0.8
    assert hf["acc"] < 0.4 and hf["final_loss"] > 2.5  # ln 16 = 2.77: barely moved
