"""Batched greedy decoding with an inference cache, left padding, per-sequence stop tokens and a token budget.

Prompts are sorted by length and decoded in batches of at most `batch_size` prompts and `batch_tokens` padded prompt
tokens (batch x its longest prompt: long prompts go in smaller batches, so prefill memory stays bounded whatever the
context length); padding sits on the left and is masked (attention layers) or zeroed (transformers' linear layers zero
padded positions), with position ids counted from each sequence's first real token.

`decode` picks the decoding path (harness/decode/static_decode.py): `plain` is the loop below (a dynamic cache, one eager
forward per token); `static` decodes on preallocated cache buffers; `graph` also replays each decode step as a CUDA
graph; `auto` (the default) is graph on CUDA and plain on CPU. Every path gives the same tokens.
"""
from __future__ import annotations

import torch

from hybrid_eval.harness.decode.static_decode import decoder_for
from hybrid_eval.models import cache_kwarg, make_cache


@torch.no_grad()
def greedy(model, prompts: list[list[int]], *, max_new_tokens: int, stop_ids: set[int], pad_id: int,
           batch_size: int = 32, batch_tokens: int | None = None, progress=None,
           decode: str = "auto") -> list[list[int]]:
    """Generated token ids for each prompt (stop token excluded), in the order of `prompts`."""
    device = next(model.parameters()).device
    engine = decoder_for(model, decode)  # None: the plain path
    kw = cache_kwarg(model)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[list[int]] = [[] for _ in prompts]
    stop = torch.tensor(sorted(stop_ids), device=device)
    for idx in batches(order, [len(p) for p in prompts], batch_size, batch_tokens):
        width = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            p = prompts[i]
            ids[row, width - len(p):] = torch.tensor(p)
            mask[row, width - len(p):] = 1
        ids, mask = ids.to(device), mask.to(device)
        fast = engine.generate(ids, mask, max_new_tokens, stop) if engine is not None and max_new_tokens > 0 else None
        if fast is not None:
            _collect(fast.tolist(), idx, stop_ids, results, progress)
            continue
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = make_cache(model)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **{kw: cache}).logits
        cache.seen_tokens += width
        done = torch.zeros(len(idx), dtype=torch.bool, device=device)
        out = []
        for _ in range(max_new_tokens):
            nxt = logits[:, -1].argmax(-1)  # (B,)
            out.append(nxt)
            done |= torch.isin(nxt, stop)
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
            pos = pos[:, -1:] + 1
            logits = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos, use_cache=True,
                           **{kw: cache}).logits
            cache.seen_tokens += 1
        _collect(torch.stack(out, 1).tolist() if out else [[] for _ in idx], idx, stop_ids, results, progress)
    return results


def batches(order: list[int], lengths: list[int], batch_size: int, batch_tokens: int | None) -> list[list[int]]:
    """`order` (prompt indices by increasing length) cut into batches of at most `batch_size` prompts whose padded size
    (rows x the longest prompt) stays within `batch_tokens` (None: no limit); a prompt longer than the budget goes
    alone."""
    out: list[list[int]] = []
    width = 0  # the current batch's longest prompt
    for i in order:
        grown = max(width, lengths[i])
        if out and len(out[-1]) < batch_size and (batch_tokens is None or (len(out[-1]) + 1) * grown <= batch_tokens):
            out[-1].append(i)
            width = grown
        else:
            out.append([i])
            width = lengths[i]
    return out


def _collect(gen: list[list[int]], idx: list[int], stop_ids: set[int], results: list, progress) -> None:
    """Each row of `gen` up to its first stop token, into `results` at the batch's prompt indices."""
    for row, i in enumerate(idx):
        seq = []
        for t in gen[row]:
            if t in stop_ids:
                break
            seq.append(t)
        results[i] = seq
    if progress is not None:
        progress.update(len(idx))
