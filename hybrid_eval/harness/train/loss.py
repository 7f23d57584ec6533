"""The training loss: next-token cross-entropy at the scored positions only, without full-vocabulary logits.

A probe is scored on its assistant turns (the labels that are not -100), a small part of each transcript: the
long contexts of the retrieval and multi-turn tasks are input, not targets. transformers' ``model(labels=...)``
computes float32 logits over the whole vocabulary at every position of every sequence first (B x T x vocab, the
largest tensor of a step at long context) and then keeps the scored ones. Here the backbone's last hidden states
are gathered at the scored positions, and the output head and the cross-entropy run on those rows only, in chunks of
``chunk_rows`` whose logits are recomputed in the backward pass (activation checkpointing), so a step holds at most
one chunk's logits. The value is the same mean over scored tokens as transformers' ``ForCausalLMLoss`` (the
families' probes have no auxiliary router loss: dense MLPs), checked against it in tests/harness/train/test_loss.py.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

CHUNK_ROWS = 4096  # scored positions per output-head chunk: 4096 x a 32k vocabulary in float32 = 0.5 GB


def _chunk_loss(head: torch.nn.Module, hidden: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(hidden).float(), gold, reduction="sum")


def scored_token_loss_sum(model, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
                          chunk_rows: int = CHUNK_ROWS) -> tuple[torch.Tensor, int]:
    """The summed next-token cross-entropy over the positions whose next label is not -100, and their number (a step's
    mean divides by the count over all its micro-batches). `model`: a causal LM from transformers, with a backbone
    under ``model.base_model_prefix`` and ``get_output_embeddings()``."""
    backbone = getattr(model, model.base_model_prefix)
    hidden = backbone(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state[:, :-1]
    gold = labels[:, 1:]
    keep = gold != -100
    rows, targets = hidden[keep], gold[keep]
    if rows.shape[0] == 0:
        return hidden.sum() * 0.0, 0  # nothing scored: a zero that keeps the graph (transformers' mean would be NaN)
    head = model.get_output_embeddings()
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, rows.shape[0], chunk_rows):
        part = rows[start:start + chunk_rows], targets[start:start + chunk_rows]
        if rows.shape[0] > chunk_rows and torch.is_grad_enabled():
            total = total + checkpoint(_chunk_loss, head, *part, use_reentrant=False)
        else:
            total = total + _chunk_loss(head, *part)
    return total, rows.shape[0]
