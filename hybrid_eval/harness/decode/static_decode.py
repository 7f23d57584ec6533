"""GPU decoding fast path: greedy decoding on static cache buffers, the one-token step replayed as a CUDA graph.

At batch 1 an eager decode step of a small model is all kernel launches and Python (transformers measured 11-48
ms/token for a 170M model on an H200, where reading the weights takes ~0.1 ms). As in gpt-fast and vLLM, the step
is captured in a `torch.cuda.CUDAGraph` once per batch shape and replayed:

    prefill (eager)    the plain path's prefill (left-padded batch, dynamic cache, `models.make_cache`); token 0 =
                       argmax of the last position. A conversation (harness/decode/conversation.py) starts here instead,
                       from the cache of its history.
    copy               the dynamic cache into a static one of L >= W + max_new_tokens slots (harness/decode/static_cache.py,
                       `fill_from`; L rounded up by `bucket` so later batches and turns reuse the same buffers)
    step 1 (eager)     also the warm-up a capture needs (lazy inits and Triton autotuning run here, not in capture)
    capture            model(ids_buf, mask_buf, pos_buf, cache) -> argmax -> out_buf[:, t_buf]; t_buf and pos_buf
                       advance and ids_buf takes the new token, all on the device
    steps 2..N-1       graph.replay(); stop tokens are checked every CHECK_EVERY steps (the only host syncs)

A `Slot` holds, per (batch, L), the static cache, those fixed buffers and the graph; the next call with the same
shape rewinds the cache (`rewind`: counters to 0, no buffer moves), copies its own prefill in and replays the same
graph. `mask_buf` (B, L) is 0 on left padding and 1 elsewhere: the causal mask, offset by the static layers'
`cumulative_length` tensor, hides the slots not written yet. Attention layers read all L slots; linear layers update
their conv and recurrent states in place (the cache API's `update_conv_state` / `update_recurrent_state` /
`set_linear_cache`), whatever kernels they are bound to.

Modes (`eval.decode`): `plain` is harness/decode/greedy.py's dynamic-cache loop; `static` is this engine without graphs
(the CPU-testable part); `graph` adds the capture (CUDA only); `auto` is graph on CUDA and plain on CPU. Where a
path cannot run, the engine says why once (logging, `harness.decode.static_decode`) and decodes without it: no static cache
for the model -> plain; a failed capture, or a decode step that replaced a cache tensor instead of writing into it
(a replay would then read a stale state) -> eager static steps.

Graph replays run no Python, so Python-side counters (`kernels.calls`) count a captured step once, not per replay.
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import os
import time
import traceback
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.decode.static_cache import fill_from, rewind, static_cache
from hybrid_eval.models import cache_kwarg, make_cache

log = logging.getLogger(__name__)

MODES = ("auto", "plain", "static", "graph")
CHECK_EVERY = 8  # decode steps between stop-token checks on CUDA (each check is a host sync)
MAX_SLOTS = 8  # (batch, L) shapes kept with their cache and graph
SLOT_TOKENS = 1 << 18  # ... while their batch x L sum stays under this (a bigger slot lives alone)
_warned: set[tuple[str, str]] = set()
_engines: "weakref.WeakKeyDictionary[torch.nn.Module, StaticDecoder]" = weakref.WeakKeyDictionary()


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"eval.decode={mode!r}; accepted: {', '.join(MODES)}")
    return mode


def resolve(mode: str, device: torch.device) -> str:
    """The path `mode` means on `device`: plain, static or graph (ConfigError for graph without CUDA)."""
    check_mode(mode)
    if mode == "auto":
        return "graph" if device.type == "cuda" else "plain"
    if mode == "graph" and device.type != "cuda":
        raise ConfigError(f"eval.decode=graph needs a CUDA device (the model is on {device}); "
                          "accepted here: auto, plain, static")
    return mode


def decoder_for(model, mode: str = "auto") -> "StaticDecoder | None":
    """The engine for `model` in `mode` (one per model, so its slots and fallbacks persist), or None for plain."""
    path = resolve(mode, next(model.parameters()).device)
    if path == "plain":
        return None
    engine = _engines.get(model)
    if engine is None or engine.graphs != (path == "graph"):
        engine = _engines[model] = StaticDecoder(model, graphs=path == "graph")
    return engine


def release(model) -> None:
    """Free the static caches and graphs kept for `model` (evaluate calls it when done; the next call recaptures)."""
    engine = _engines.get(model)
    if engine is not None:
        engine.slots.clear()


def bucket(n: int) -> int:
    """Static cache length for n tokens: a power of two from 256 to 4096, then a multiple of 4096 (<= 12.5% spare
    slots past 32k), so batches and conversation turns of nearby lengths share a slot and its graph."""
    if n <= 4096:
        return max(256, 1 << (n - 1).bit_length())
    return -(-n // 4096) * 4096


def _say_once(model, what: str, reason: str) -> None:
    key = (f"{model.config.model_type}:{what}", reason)
    if key not in _warned:
        _warned.add(key)
        log.warning("%s decoding: %s; %s", model.config.model_type, reason, what)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def _where(e: BaseException) -> str:
    """'file:line in function' of the deepest frame of `e` outside torch itself: the model code that did it."""
    torch_dir = os.path.dirname(torch.__file__)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(torch_dir)]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {'/'.join(Path(f.filename).parts[-3:])}:{f.lineno} in {f.name}"


def tensor_addresses(obj) -> dict[str, int]:
    """Attribute path -> data pointer of every tensor reachable from `obj` (a cache): what a graph captured."""
    out: dict[str, int] = {}
    seen: set[int] = set()

    def walk(x, path):
        if isinstance(x, torch.Tensor):
            if x.numel() > 0:
                out[path] = x.data_ptr()
            return
        if id(x) in seen or isinstance(x, (str, bytes, int, float, bool, type(None), torch.device, torch.dtype)):
            return
        seen.add(id(x))
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}[{k!r}]")
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")
        elif hasattr(x, "__dict__"):
            for k, v in vars(x).items():
                walk(v, f"{path}.{k}")

    walk(obj, "cache")
    return out


def moved_tensors(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Cache tensors a decode step replaced or added instead of updating in place."""
    return sorted(p for p, ptr in after.items() if before.get(p) != ptr)


@dataclass
class Slot:
    """A static cache of `length` slots for `batch` sequences, the decode step's fixed buffers, and its graph."""

    cache: object
    ids: torch.Tensor  # (B, 1) the token the next step feeds
    pos: torch.Tensor  # (B, 1) its position, counted from each row's first real token
    mask: torch.Tensor  # (B, L) 0 on left padding, 1 elsewhere
    out: torch.Tensor  # (B, L) generated tokens
    t: torch.Tensor  # (1,) index in `out` of the token the next step writes
    graph: "torch.cuda.CUDAGraph | None" = None
    stepped: bool = False  # step 1 has run on this slot (and capture was tried, in graph mode)


class StaticDecoder:
    """Greedy decoding of left-padded batches on static caches; the decode step is a CUDA graph when `graphs`."""

    def __init__(self, model, graphs: bool):
        self._model = weakref.ref(model)  # engines are kept per model (`decoder_for`): no strong ref back to it
        self.graphs = graphs
        self.kw = cache_kwarg(model)
        self.keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
        self.static_ok = True  # False once no static cache could be built or filled for this model
        self.graph_ok = graphs  # False once capture failed or a step moved a cache tensor
        self.slots: OrderedDict[tuple[int, int], Slot] = OrderedDict()
        self.last_path = None  # "graph" or "static" for the last call (benchmarks and tests read it)
        self.captures = 0  # graphs captured so far
        self.moved: list[str] = []  # cache tensors the last step 1 replaced (must stay empty for a graph)
        self.timed = False  # benchmarks: synchronize and record `timings` of each call
        self.timings: dict[str, float] = {}

    @property
    def model(self):
        return self._model()

    # --- entry points ---------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, ids: torch.Tensor, mask: torch.Tensor, max_new_tokens: int, stop: torch.Tensor):
        """(B, n) greedy ids after the left-padded `ids` / `mask` (B, W), n <= max_new_tokens (rows past a stop token
        hold more tokens, to be cut by the caller); None when the static path cannot run (decode plainly)."""
        if not self.static_ok or max_new_tokens < 1:
            return None
        clock = self._clock()
        B, W = ids.shape
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        dynamic = make_cache(self.model)
        logits = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                            **{self.kw: dynamic}, **self.keep).logits
        dynamic.seen_tokens += W
        self.timings = {"prefill_s": clock()}
        return self._decode(dynamic, W, logits[:, -1], mask, pos[:, -1:] + 1, max_new_tokens, stop, clock, release=True)

    @torch.no_grad()
    def continue_from(self, dynamic, n_held: int, last_logits: torch.Tensor, max_new_tokens: int, stop: torch.Tensor):
        """(1, n) greedy continuation of a batch-1 dynamic cache holding `n_held` tokens, whose next-token logits are
        `last_logits` (V,); `dynamic` is left unchanged. None when the static path cannot run."""
        if not self.static_ok or max_new_tokens < 1:
            return None
        clock = self._clock()
        self.timings = {}
        device = last_logits.device
        mask = torch.ones((1, n_held), dtype=torch.long, device=device)
        pos = torch.full((1, 1), n_held, dtype=torch.long, device=device)
        return self._decode(dynamic, n_held, last_logits[None], mask, pos, max_new_tokens, stop, clock, release=False)

    # --- internals ------------------------------------------------------------------------------
    def _clock(self):
        """Seconds since the last call (synchronizing first) when `timed`, else 0."""
        cuda = next(self.model.parameters()).device.type == "cuda"
        last = [time.perf_counter()]

        def lap() -> float:
            if not self.timed:
                return 0.0
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            dt, last[0] = now - last[0], now
            return dt

        if self.timed and cuda:
            torch.cuda.synchronize()
            last[0] = time.perf_counter()
        return lap

    def _slot(self, batch: int, length: int, device) -> Slot | None:
        key = (batch, length)
        if key in self.slots:
            self.slots.move_to_end(key)
            return self.slots[key]
        while self.slots and (len(self.slots) >= MAX_SLOTS or
                              sum(b * n for b, n in self.slots) + batch * length > SLOT_TOKENS):
            self.slots.popitem(last=False)  # least recently used first (its graph and buffers are freed)
        try:
            cache = static_cache(self.model, length)
        except Exception as e:  # noqa: BLE001  (an architecture transformers has no static cache for)
            self.static_ok = False
            _say_once(self.model, "using the plain path", f"no static cache for this model ({_first_line(e)})")
            return None
        zeros = lambda n: torch.zeros((batch, n), dtype=torch.long, device=device)  # noqa: E731
        slot = Slot(cache=cache, ids=zeros(1), pos=zeros(1), mask=zeros(length), out=zeros(length),
                    t=torch.ones((1,), dtype=torch.long, device=device))
        self.slots[key] = slot
        return slot

    def _decode(self, dynamic, W: int, logits: torch.Tensor, mask: torch.Tensor, next_pos: torch.Tensor,
                max_new_tokens: int, stop: torch.Tensor, clock, release: bool) -> torch.Tensor | None:
        """Tokens 0..n-1 after a cache of W tokens: token 0 from `logits` (B, V), then steps on a slot's buffers."""
        B, device = logits.shape[0], logits.device
        slot = self._slot(B, bucket(W + max_new_tokens), device)
        if slot is None:
            return None
        cache = slot.cache
        rewind(cache)
        try:
            fill_from(cache, dynamic, W, release=release)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001  (a cache layer kind with no static counterpart)
            self.static_ok = False
            self.slots.clear()
            _say_once(self.model, "using the plain path",
                      f"copying the cache into static buffers failed ({_first_line(e)})")
            return None
        slot.mask.fill_(1)
        slot.mask[:, :W] = mask
        slot.out[:, 0] = logits.argmax(-1)
        slot.ids.copy_(slot.out[:, :1])
        slot.pos.copy_(next_pos)
        slot.t.fill_(1)
        self.timings["copy_s"] = clock()
        model, kw = self.model, self.kw

        def step():  # everything a decode step does, on the slot's fixed buffers: the graph's body
            step_logits = model(input_ids=slot.ids, attention_mask=slot.mask, position_ids=slot.pos, use_cache=True,
                                **{kw: cache}).logits
            nxt = step_logits[:, -1].argmax(-1)  # (B,)
            slot.out.index_copy_(1, slot.t, nxt[:, None])
            slot.ids.copy_(nxt[:, None])
            slot.pos.add_(1)
            slot.t.add_(1)

        every = CHECK_EVERY if device.type == "cuda" else 1  # a check is a host sync on CUDA, free on CPU
        n = 1
        while n < max_new_tokens:
            if n % every == 0 and stop.numel() and bool(torch.isin(slot.out[:, :n], stop).any(-1).all()):
                break
            if slot.graph is not None:
                slot.graph.replay()
            elif not slot.stepped:
                capture = self.graph_ok and max_new_tokens > 2  # a graph pays off from its second replay on
                slot.graph = self._first_step(step, cache, capture=capture)
                slot.stepped = capture or not self.graph_ok  # graph mode tries again on a longer call
            else:
                step()
            cache.seen_tokens += 1
            n += 1
            if n == 2:
                self.timings["first_step_s"] = clock()
        self.timings.update(steps_s=clock(), steps=max(0, n - 2), tokens=n)
        self.last_path = "graph" if slot.graph is not None else "static"
        return slot.out[:, :n].clone()

    def _first_step(self, step, cache, capture: bool):
        """Decode step 1, eagerly; then, if `capture`, the graph of `step` (None, after saying why, if a graph could
        not reproduce it). Step 1 is also the warm-up capture needs. `self.moved` lists the cache tensors step 1
        replaced instead of writing into (checked on every device)."""
        before = tensor_addresses(cache)
        with graph_safe_experts(self.model, capture):
            (warm_up if capture else lambda fn: fn())(step)
        self.moved = moved_tensors(before, tensor_addresses(cache))
        if not capture:
            return None
        if self.moved:
            self.graph_ok = False
            _say_once(self.model, "decoding with eager static steps", "no CUDA graph: a decode step replaced cache "
                      f"tensors instead of writing into them ({', '.join(self.moved[:4])})")
            return None
        try:
            with graph_safe_experts(self.model):
                graph = capture_graph(step)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001  (a host sync or an op graphs cannot hold, inside the step)
            self.graph_ok = False
            if torch.cuda.is_available():
                try:
                    torch.cuda.synchronize()
                except Exception:  # noqa: BLE001
                    pass
            _say_once(self.model, "decoding with eager static steps",
                      f"CUDA graph capture failed ({_first_line(e)}{_where(e)})")
            return None
        self.captures += 1
        return graph


@contextlib.contextmanager
def graph_safe_experts(model, on: bool = True):
    """Inside the block, MoE layers run transformers' `batched_mm` experts instead of its default `grouped_mm`.

    `grouped_mm` counts tokens per expert with `torch.histc`, which on CUDA copies from host memory and so cannot
    be captured (MiniMax's step, transformers 5.17 / torch 2.11: "Cannot copy between CPU and CUDA tensors during
    CUDA graph capture" at integrations/moe.py, grouped_mm_experts_forward). `batched_mm` gathers each token's
    expert weights instead: the same products, no data-dependent sizes. Used for the warm-up and the capture of a
    decode step, so the graph holds `batched_mm`; prefill and the plain path keep the model's setting."""
    config = model.config
    before = getattr(config, "_experts_implementation", None)
    if not on or before != "grouped_mm":
        yield
        return
    config._experts_implementation = "batched_mm"
    try:
        yield
    finally:
        config._experts_implementation = before


def warm_up(step) -> None:
    """Run `step` once on a side stream, as torch.cuda.graphs asks before a capture (lazy inits, autotuning)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        step()
    torch.cuda.current_stream().wait_stream(side)


def capture_graph(step) -> "torch.cuda.CUDAGraph":
    """A CUDA graph of `step`: recorded, not run (its kernels run at each `replay()`)."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph
