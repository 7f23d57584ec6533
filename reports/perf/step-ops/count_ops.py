"""ATen operator calls in one training step (forward + backward) of `base` probes, on the CPU: a proxy for kernel
launches on a GPU, where a ~30M-parameter probe is launch-bound. MiniMax is counted twice: its one-expert MoE block as
the MLP it equals (models/minimax.py one_expert, the default) and through transformers' expert dispatch.

    python reports/perf/step-ops/count_ops.py > reports/perf/step-ops/ops.txt
"""
import collections
import random

import torch
from hydra import compose, initialize_config_dir
from torch.utils._python_dispatch import TorchDispatchMode
from transformers.models.minimax import modeling_minimax

from hybrid_eval import config_dir, models
from hybrid_eval.harness.run import suite_data, suite_tokenizer
from hybrid_eval.harness.train.loop import draw_transcripts, forward_backward, tokenize_step
from hybrid_eval.tasks.data import Suite

DISPATCH = ("sort", "histc", "_grouped_mm", "index_add", "index", "topk", "_softmax")


class Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[str(func.overloadpacket).removeprefix("aten.")] += 1
        return func(*args, **(kwargs or {}))


def count(family: str, pattern: str) -> collections.Counter:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=["~experiment", f"model={family}", "model.size=base", "suite=smoke",
                                           f"model.pattern={pattern}", "train.n_examples=20", "train.n_validation=1",
                                           "eval.n_test=1", "logger=none"])
    suite = Suite.from_config(cfg.suite)
    data = suite_data(cfg, suite)
    tokenizer = suite_tokenizer(suite, data)
    model, _ = models.build(cfg.model, tokenizer, seed=0)
    model.train()
    train = {a: d["train"] for a, d in data.items()}
    parts, scored, _ = tokenize_step(tokenizer, draw_transcripts(random.Random(0), train, sorted(train), 4), None)
    forward_backward(model, parts, False, torch.device("cpu"), scored)  # warm-up
    with Count() as c:
        forward_backward(model, parts, False, torch.device("cpu"), scored)
    return c.calls


def main():
    print(f"torch {torch.__version__}; one step, batch 4 of the smoke suite, fp32, CPU")
    print("| probe | aten calls per step | of them sort / histc / grouped_mm / index / index_add / topk / softmax |")
    print("|---|---|---|")
    block = modeling_minimax.MiniMaxSparseMoeBlock
    for family, pattern in (("qwen3_next", "F"), ("kimi_linear", "F"), ("minimax", "F"), ("minimax", "LLLLLLLF")):
        runs = [("", None)] + ([(" (transformers' expert dispatch)", block.forward.original)] if family == "minimax" else [])
        for label, forward in runs:
            bound = block.forward
            if forward is not None:
                block.forward = forward
            try:
                calls = count(family, pattern)
            finally:
                block.forward = bound
            dispatch = sum(calls[k] for k in DISPATCH)
            print(f"| {family}:{pattern}:base{label} | {sum(calls.values())} | {dispatch} |")


if __name__ == "__main__":
    main()
