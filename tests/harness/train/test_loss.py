"""The training loss at the scored positions equals transformers' own causal-LM loss, value and gradients, for every
family and pattern; and it never builds logits for the unscored positions."""
import pytest
import torch

from hybrid_eval.harness.train.loss import scored_token_loss_sum


def scored_token_loss(*args, **kwargs):
    total, count = scored_token_loss_sum(*args, **kwargs)
    return total / count
from tests.models.families import CASES, tiny


def batch(seed=0, vocab=64, rows=3, width=40):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (rows, width), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0  # a right-padded row
    ids[1, 30:] = 0
    labels = torch.full_like(ids, -100)
    labels[:, 20:28] = ids[:, 20:28]  # the "assistant turn": scored
    labels[2, 35:] = ids[2, 35:]
    return ids, mask, labels


@pytest.mark.parametrize("family,pattern", CASES)
def test_equals_transformers_loss_and_gradients(family, pattern):
    model = tiny(family, pattern).train()
    ids, mask, labels = batch()
    want = model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss
    want.backward()
    want_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    got = scored_token_loss(model, ids, mask, labels)
    got.backward()
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    for name, grad in want_grads.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, rtol=1e-4, atol=1e-6, msg=name)


def test_chunks_give_the_same_value_and_gradient_as_one_piece():
    model = tiny("qwen3_next", "LLLF").train()
    ids, mask, labels = batch(seed=1)
    values, grads = [], []
    for rows in (4, 10_000):  # 4: 8 checkpointed chunks of the 29 scored positions; 10 000: one piece
        model.zero_grad(set_to_none=True)
        loss = scored_token_loss(model, ids, mask, labels, chunk_rows=rows)
        loss.backward()
        values.append(loss.item())
        grads.append(model.get_output_embeddings().weight.grad.clone())
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_only_scored_rows_reach_the_output_head():
    model = tiny("qwen3_next", "F")
    ids, mask, labels = batch(seed=2)
    seen = []
    model.get_output_embeddings().register_forward_hook(lambda m, args, out: seen.append(out.shape))
    total, count = scored_token_loss_sum(model, ids, mask, labels)
    assert count == int((labels[:, 1:] != -100).sum()) == 29  # 8 + 8 + 8 + 5
    assert seen == [torch.Size([29, 64])]  # not (3, 40, 64)
    assert total.item() / count == pytest.approx(model(input_ids=ids, attention_mask=mask, labels=labels).loss.item(),
                                                 rel=1e-5)


def test_micro_batches_give_the_whole_batch_gradient():
    """A step in forward passes of at most 60 padded tokens (sorted by length) gives the loss and gradient of the
    whole batch in one pass: each pass's summed loss over the step's scored tokens, accumulated."""
    from hybrid_eval.harness.train.loop import forward_backward, make_batch, micro_batches

    gen = torch.Generator().manual_seed(3)
    encoded = []
    for length in (12, 30, 7, 25, 18):
        ids = torch.randint(1, 64, (length,), generator=gen).tolist()
        encoded.append((ids, [i >= length // 2 for i in range(length)]))  # the second half scored
    parts = micro_batches(encoded, 60)
    assert [[len(ids) for ids, _ in part] for part in parts] == [[7, 12, 18], [25, 30]]  # 3 x 18 = 54, 2 x 30 = 60
    assert micro_batches(encoded, None) == [encoded]
    model = tiny("kimi_linear", "LLLF").train()
    results = []
    for split in (None, 60):
        micro = [make_batch(part, 0, "cpu") for part in micro_batches(encoded, split)]
        value = float(forward_backward(model, micro, amp=False, device=torch.device("cpu")))
        results.append((value, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    (whole, whole_grads), (split_value, split_grads) = results
    assert split_value == pytest.approx(whole, rel=1e-5)
    for name, grad in whole_grads.items():
        torch.testing.assert_close(split_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("value", [0, -3, "big", True])
def test_bad_micro_batch_tokens_is_one_line(value):
    from hybrid_eval.harness.errors import ConfigError
    from hybrid_eval.harness.train.loop import check_micro_batch_tokens

    with pytest.raises(ConfigError, match=r"train.micro_batch_tokens=.*accepted: null \(the whole batch at once\)"):
        check_micro_batch_tokens(value)
