"""Peak host memory (max RSS) of one base-size training forward + backward on CPU, per family and pattern.

    python reports/perf/step-memory-cpu/step_memory.py qwen3_next F
    python reports/perf/step-memory-cpu/step_memory.py deepseek_v32 dense

A batch of 4 sequences of 2,048 tokens (the longest rungs of minimax_gap_ladder), float32, one torch thread, a
1,500-word probe vocabulary. Run once per process (max RSS never goes down). CPU only: on CPU, attention with a
materialised mask runs the math backend, which keeps the attention weights for the backward; on a GPU the figures
differ.
"""
import resource
import sys
import time

import torch
from omegaconf import OmegaConf

from hybrid_eval.models import build
from hybrid_eval.models.tokenizer import build_probe_tokenizer

torch.set_num_threads(1)
family, pattern = sys.argv[1], sys.argv[2]
tokenizer = build_probe_tokenizer([f"w{i}" for i in range(1500)])
model, _ = build(OmegaConf.create({"family": family, "pattern": pattern, "size": "base"}), tokenizer)
ids = torch.randint(0, len(tokenizer), (4, 2048))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
start = time.time()
model(input_ids=ids, labels=ids).loss.backward()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(f"{family} {pattern}: max RSS {before:.2f} GB after building, {after:.2f} GB after one forward + backward "
      f"({time.time() - start:.0f} s)")
