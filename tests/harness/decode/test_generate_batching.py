"""Batched greedy decoding: batch size never changes an answer, for every family x pattern at tiny.

Eight prompts of different lengths (1 .. 30 tokens, so batches are left-padded by up to 29 positions) decoded in one
batch of 8 and one at a time give identical tokens. DeepSeek-V3.2 sparse is xfail (not strict): 2 of the 8
prompts (9 and 12 tokens) differ from their 3rd generated token in a batch of 8 (a batch of 2 with the 9-token one
agrees, with the same indexer choices at each decode step); unlike the multi-turn case
(tests/harness/evaluate/test_multiturn.py) no near-tie was found at the decode steps, so padded prefill rows are a
candidate cause. Not established; hybrid_eval/models/deepseek_v32.py is where it would be fixed.
"""
import pytest
import torch

from hybrid_eval.harness.decode.greedy import greedy
from tests.harness.evaluate.test_multiturn import CASES_MARKED
from tests.models.families import tiny

LENGTHS = (3, 17, 9, 30, 1, 12, 5, 22)
STEPS = 6


@pytest.mark.parametrize("family,pattern", CASES_MARKED)
def test_batch_of_8_equals_batch_of_1(family, pattern):
    model = tiny(family, pattern)
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(3, 64, (n,), generator=g).tolist() for n in LENGTHS]
    batched = greedy(model, prompts, max_new_tokens=STEPS, stop_ids={2}, pad_id=0, batch_size=8)
    single = [greedy(model, [p], max_new_tokens=STEPS, stop_ids={2}, pad_id=0, batch_size=1)[0] for p in prompts]
    assert batched == single
    assert sum(len(o) for o in batched) > len(prompts)  # it generated something to compare


def test_batches_keep_rows_and_padded_tokens_within_their_budgets():
    from hybrid_eval.harness.decode.greedy import batches

    lengths = [3, 17, 9, 30, 1, 12, 5, 22]
    order = sorted(range(8), key=lengths.__getitem__)  # 1, 3, 5, 9, 12, 17, 22, 30 tokens
    assert batches(order, lengths, 8, None) == [order]
    assert batches(order, lengths, 3, None) == [order[:3], order[3:6], order[6:]]
    cut = batches(order, lengths, 8, 40)  # rows x longest <= 40: [1, 3, 5, 9] (36), [12, 17] (34), [22], [30]
    assert [[lengths[i] for i in b] for b in cut] == [[1, 3, 5, 9], [12, 17], [22], [30]]
    assert batches(order, lengths, 8, 2) == [[i] for i in order]  # a prompt over the budget still runs, alone
    assert sorted(i for b in cut for i in b) == list(range(8))


def test_a_token_budget_never_changes_an_answer():
    model = tiny("qwen3_next", "LLLF")
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(3, 64, (n,), generator=g).tolist() for n in LENGTHS]
    unlimited = greedy(model, prompts, max_new_tokens=STEPS, stop_ids={2}, pad_id=0, batch_size=8)
    budgeted = greedy(model, prompts, max_new_tokens=STEPS, stop_ids={2}, pad_id=0, batch_size=8, batch_tokens=40)
    assert budgeted == unlimited and sum(len(o) for o in budgeted) > len(prompts)
