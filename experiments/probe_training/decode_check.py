"""Section 11. Does a trained probe's generated answer agree with its teacher-forced predictions?

For a finished harness job (`sweep/NAME` with `checkpoint/` and `.hydra/config.yaml`) on an MQAR suite: the first
N test examples are scored (1) teacher-forced, one forward over prompt + gold answer, argmax at every value position
(the number after each key), under bf16 autocast (as in training) and in fp32 (as in evaluation), and (2) by the
harness's own evaluation (greedy generation, task scorer) with each decode path, on fla's kernels (`auto` on a GPU)
and on ours (`torch`, fp32). Prints one row per way, then a few outputs next to their gold answers.

    python experiments/probe_training/decode_check.py sweep/NAME [N]
"""
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from hybrid_eval import kernels
from hybrid_eval.harness.evaluate.scoring import evaluate
from hybrid_eval.harness.train.loop import make_batch
from hybrid_eval.models.tokenizer import END, encode_chats
from hybrid_eval.tasks.data import Suite, load_splits

job, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 64
cfg = OmegaConf.load(job / ".hydra" / "config.yaml")
suite = Suite.from_config(cfg.suite)
sizes = {"train": cfg.train.n_examples, "validation": cfg.train.n_validation, "test": cfg.eval.n_test}
tasks = {t.alias: t for t in suite.tasks}
test = {a: load_splits(t, sizes, seed=cfg.suite.seed, cache_dir=cfg.get("cache_dir"))["test"][:n] for a, t in tasks.items()}
(alias, examples), = test.items()
tokenizer = AutoTokenizer.from_pretrained(job / "checkpoint")
dev = "cuda" if torch.cuda.is_available() else "cpu"
model = AutoModelForCausalLM.from_pretrained(job / "checkpoint", use_safetensors=True).to(dev).eval()
end = tokenizer.convert_tokens_to_ids(END)
number = {i for t, i in tokenizer.get_vocab().items() if t.isdigit()}


@torch.no_grad()
def teacher_forced(amp: bool) -> tuple[float, float]:
    """(value accuracy, key accuracy): argmax at the positions whose gold token is a number / a word of the answer."""
    enc = encode_chats(tokenizer, [e["messages"] for e in examples])
    hits = {True: [], False: []}
    for i in range(0, len(enc), 16):
        ids, mask, labels = make_batch(enc[i:i + 16], tokenizer.pad_token_id, dev)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=amp):
            pred = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.argmax(-1)
        gold, pred = labels[:, 1:], pred[:, :-1]
        for b, p in zip(gold.flatten().tolist(), pred.flatten().tolist()):
            if b != -100 and b != end:
                hits[b in number].append(b == p)
    return sum(hits[True]) / len(hits[True]), sum(hits[False]) / max(len(hits[False]), 1)


print(f"{job.name}: {n} test examples of {alias}")
print(f"{'kernels':>8} {'way':<28} {'value acc':>9} {'key acc':>8}", flush=True)
outputs = {}
for backend in ("auto", "torch"):  # our torch kernels run in fp32 only
    kernels.set_backend(backend)
    for amp in ((True, False) if dev == "cuda" and backend == "auto" else (False,)):
        v, k = teacher_forced(amp)
        print(f"{backend:>8} {'teacher-forced ' + ('bf16' if amp else 'fp32'):<28} {100 * v:>8.1f}% {100 * k:>7.1f}%", flush=True)
    for decode in ("plain", "graph") if dev == "cuda" and backend == "auto" else ("plain",):
        recs = evaluate(model, tokenizer, tasks, test, OmegaConf.merge(cfg.eval, {"decode": decode}))
        score = sum(r["score"] for r in recs) / len(recs)
        print(f"{backend:>8} {'generated, decode=' + decode:<28} {100 * score:>8.1f}%", flush=True)
        outputs[(backend, decode)] = [r["outputs"][0] for r in recs[:3]]
for i in range(3):
    print("gold:", examples[i]["messages"][-1]["content"])
    for key, outs in outputs.items():
        print(f"  {key}: {outs[i]}")
