"""Multi-turn decoding with cache reuse: a conversation is prefilled once and then only extended.

A `Conversation` holds one transcript's token ids and the model's inference cache over them (KV for full
layers, conv and recurrent state for linear ones; `models.make_cache`, so every family and pattern). Each turn:

    conv.extend_to(ids)      # ids = the whole history rendered by the chat template, ending in the generation
                             # prompt; only the tokens past what the cache holds are run through the model
    out = conv.generate(..)  # greedy (or sampled), on a copy of the cache (`copy.deepcopy`): the cache at the end
                             # of the prompt is kept, because linear-layer states cannot be rolled back

On the next `extend_to`, the cache to extend is the generation's copy when the tokens it holds (prompt + the
generated tokens fed back, i.e. all but the last) are a prefix of the new history (interactive runs, and
teacher-forced turns the model got right), else the prompt's snapshot (teacher-forced turns with a wrong answer:
the gold answer replaces the model's). Either way the cache equals a prefill of exactly the new history's
prefix, so outputs match re-prefilling the whole history at every turn (tests/harness/evaluate/test_multiturn.py).
If a chat template renders an earlier turn differently once later turns exist (the new ids do not start with
any cached ids), the conversation falls back to a fresh prefill and counts it in `reprefills`.

On CUDA (`decode` auto or graph, harness/decode/static_decode.py) a greedy `generate` copies the prompt's cache into
static buffers and decodes there with a CUDA graph; that copy is not kept, so the next `extend_to` runs the answer's
tokens again on top of the prompt's cache (a few tokens, in one forward).

A sliding-window (`S`) layer's cache keeps only its last window - 1 keys (models/window.py): extending it by a
segment and copying it work as for any layer, and a prefix it has forgotten is never needed again, because every later
query sees only its own window.

Batch size is one conversation: extending a batch of caches by segments of different lengths would put padding
inside sequences, which linear layers do not skip (their decay and conv windows run over pad positions).
"""
from __future__ import annotations

import copy

import torch

from hybrid_eval.harness.decode.static_decode import decoder_for
from hybrid_eval.models import cache_kwarg, make_cache


class Conversation:
    """One transcript's ids and cache; `extend_to` the history, then `generate` the next assistant turn."""

    def __init__(self, model, decode: str = "auto"):
        self.model = model
        self.device = next(model.parameters()).device
        self.kw = cache_kwarg(model)
        self.engine = decoder_for(model, decode)  # greedy turns on static buffers (CUDA graphs); None: plain
        self.ids: list[int] = []  # the tokens the cache holds
        self.cache = make_cache(model)
        self.logits: torch.Tensor | None = None  # (V,) next-token logits after `ids`
        self._branch = None  # (ids, cache, logits) left by the last `generate`
        self.reprefills = 0  # fresh prefills after the first (template not prefix-stable)
        self.tokens_run = 0  # tokens run through the model, prefill and decode (the cost)

    @torch.no_grad()
    def _feed(self, cache, ids: list[int], new: list[int]) -> torch.Tensor:
        """Run `new` on top of `cache` (which holds `ids`); returns the last position's logits."""
        n, total = len(new), len(ids) + len(new)
        x = torch.tensor([new], device=self.device)
        mask = torch.ones((1, total), dtype=torch.long, device=self.device)
        pos = torch.arange(len(ids), total, device=self.device)[None]
        logits = self.model(input_ids=x, attention_mask=mask, position_ids=pos, use_cache=True,
                            **{self.kw: cache}).logits
        cache.seen_tokens += n
        self.tokens_run += n
        return logits[0, -1]

    def extend_to(self, ids: list[int]) -> None:
        """Make the cache hold exactly `ids`, running only tokens past the longest cached prefix of `ids`."""
        if not ids:
            raise ValueError("a conversation needs at least one token")
        best = None
        for cand in ((self.ids, self.cache, self.logits), self._branch):
            if cand is not None and cand[2] is not None and len(cand[0]) <= len(ids) and ids[: len(cand[0])] == cand[0]:
                if best is None or len(cand[0]) > len(best[0]):
                    best = cand
        self._branch = None
        if best is None or len(best[0]) == 0:
            if self.logits is not None:
                self.reprefills += 1
            best = ([], make_cache(self.model), None)
        held, cache, logits = best
        if len(ids) > len(held):
            logits = self._feed(cache, held, ids[len(held):])
        self.ids, self.cache, self.logits = list(ids), cache, logits

    @torch.no_grad()
    def generate(self, *, max_new_tokens: int, stop_ids: set[int], temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> list[int]:
        """Continuation of `ids` (stop token excluded), greedy or, with `temperature` > 0, sampled with `generator`;
        the cache at the end of `ids` is kept."""
        if self.logits is None:
            raise ValueError("extend_to a history before generate")
        if temperature <= 0 and self.engine is not None and max_new_tokens > 0:
            stop = torch.tensor(sorted(stop_ids), dtype=torch.long, device=self.device)
            fast = self.engine.continue_from(self.cache, len(self.ids), self.logits, max_new_tokens, stop)
            if fast is not None:
                out = fast[0].tolist()
                self.tokens_run += len(out) - 1  # decode steps run (the last token is never fed)
                first_stop = next((i for i, t in enumerate(out) if t in stop_ids), None)
                self._branch = None  # the static copy is dropped: the next extend_to starts from the prompt's cache
                return out if first_stop is None else out[:first_stop]
        cache = copy.deepcopy(self.cache)
        held, logits, out = list(self.ids), self.logits, []
        for step in range(max_new_tokens):
            if temperature > 0:
                probs = torch.softmax(logits.float().cpu() / temperature, -1)
                t = int(torch.multinomial(probs, 1, generator=generator))
            else:
                t = int(logits.argmax())
            out.append(t)
            if t in stop_ids or step == max_new_tokens - 1:
                break  # the last token is never fed: the next turn's history decides what follows it
            logits = self._feed(cache, held, [t])
            held.append(t)
        self._branch = (held, cache, logits)
        return out[:-1] if out and out[-1] in stop_ids else out
