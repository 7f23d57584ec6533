"""Greedy decoding: batching and caching never change an answer, for every qwen3_next pattern."""
import pytest
import torch

from hybrid_eval.harness.decode.greedy import greedy
from tests.conftest import tiny_qwen3_next


def no_cache_greedy(model, prompt, n, stop):
    seq, out = list(prompt), []
    for _ in range(n):
        with torch.no_grad():
            t = model(torch.tensor([seq]), use_cache=False).logits[0, -1].argmax().item()
        if t in stop:
            break
        out.append(t)
        seq.append(t)
    return out


@pytest.mark.parametrize("pattern", ["F", "LLLF", "L"])
def test_batched_cached_equals_single_uncached(pattern):
    model = tiny_qwen3_next(pattern)
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(3, 64, (n,), generator=g).tolist() for n in (3, 17, 9, 30, 1, 12, 5, 22)]
    stop = {2}
    batched = greedy(model, prompts, max_new_tokens=8, stop_ids=stop, pad_id=0, batch_size=8)
    single = [greedy(model, [p], max_new_tokens=8, stop_ids=stop, pad_id=0, batch_size=1)[0] for p in prompts]
    reference = [no_cache_greedy(model, p, 8, stop) for p in prompts]
    assert batched == single == reference
    assert sum(len(o) for o in batched) > 0  # it generated something to compare
