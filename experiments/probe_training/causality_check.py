"""Section 11. Is each probe causal on the path it trains and evaluates on? A `base` model of each family x pattern
(random init through the family's probe init) runs a batch of 256-token sequences twice, the second time with every
token from position 128 on replaced; the logits before 128 must not move. Both in train() mode under bf16 autocast
(how harness.train.loop runs it) and in eval() mode in fp32 (how harness.evaluate.scoring scores it), on the active kernel backend.

    python experiments/probe_training/causality_check.py [backend]   # backend: auto (default), fla, torch
"""
import sys

import torch
from transformers import AutoModelForCausalLM

from hybrid_eval import kernels
from hybrid_eval.models import get_family

backend = sys.argv[1] if len(sys.argv) > 1 else "auto"
kernels.set_backend(backend)
dev = "cuda" if torch.cuda.is_available() else "cpu"
V, T, CUT = 600, 256, 128
print(f"kernels.backend={backend} on {dev}; max |logit change| before position {CUT} (0 = causal), and at/after it")
print(f"{'family':<12} {'pattern':<6} {'train, bf16':>12} {'eval, fp32':>12} {'after':>8}")
for family in ("qwen3_next", "kimi_linear"):
    fam = get_family(family)
    for pattern in ("F", "LLLF", "L"):
        config, _ = fam.matched_config(pattern, "base", V, pad_token_id=0)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config)
        fam.init_probe(model, torch.Generator().manual_seed(0))
        model.to(dev)
        ids = torch.randint(3, V, (4, T), device=dev)
        other = ids.clone()
        other[:, CUT:] = torch.randint(3, V, (4, T - CUT), device=dev)
        row = []
        for train, amp in ((True, dev == "cuda"), (False, False)):
            model.train(train)
            with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=amp):
                a, b = (model(input_ids=x, use_cache=False).logits.float() for x in (ids, other))
            row.append((float((a[:, :CUT] - b[:, :CUT]).abs().max()), float((a[:, CUT:] - b[:, CUT:]).abs().max())))
        print(f"{family:<12} {pattern:<6} {row[0][0]:>12.3g} {row[1][0]:>12.3g} {row[1][1]:>8.3g}")
