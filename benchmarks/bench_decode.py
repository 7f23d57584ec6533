"""Decoding benchmarks, side by side in one run: our fast path vs transformers' `generate`, cache reuse vs
re-prefilling a 16-turn conversation, our evaluator vs lm-eval's HFLM.

    python benchmarks/bench_decode.py --out reports/perf/h100                       # GPU: the full run (~8 min on an H100)
    python benchmarks/bench_decode.py --families qwen3_next --sizes base --contexts 4096 --out /tmp/b
    python benchmarks/bench_decode.py --cpu --quick --out /tmp/bench                # CPU smoke run: tiny probes, a few tokens

Every model is a randomly initialised probe (speed does not depend on the weights) of each registered family's
reference and released variant (`variants()`, from `models.FAMILIES`: qwen3_next F/LLLF, kimi_linear F/LLLF, minimax
F/LLLLLLLF, deepseek_v32 dense/sparse) with the `quick` suite's word-level tokenizer, bf16 on CUDA (fp32 on CPU);
`max_position_embeddings` covers the longest context, so DeepSeek's `dense` keeps every key at 32k. Sections:

(a) decode      at each size, context and batch (1, 32), prompts of random ids (no padding): steady-state decode
                ms/token and tokens/s of ours (hybrid_eval/harness/decode/static_decode.py: static cache + CUDA graph on GPU, static
                cache eager on CPU) and of `model.generate(do_sample=False, max_new_tokens=N)` with transformers'
                default cache and the same model. Steady state = decode steps 2..N-1: prefill, the first decode
                step and our graph capture are timed apart (ours: `StaticDecoder.timings`; transformers: a logits
                processor stamps each step after `torch.cuda.synchronize()`). A row that runs out of GPU memory
                records "OOM"; rows past `--budget-s` record "skipped".
(b) multi_turn  per family's hybrid at the first size: a conversation of `--turns` turns (system prompt, then per
                turn `--turn-tokens` new user tokens and the model's own `--answer-tokens`-token answer), decoded by
                hybrid_eval/harness/decode/conversation.py (the history's cache reused) and by re-prefilling the whole history each
                turn (`harness.decode.greedy.greedy`, batch 1); both decode with the same engine. Time per turn, and
                the total speedup after 4, 8, 16 turns. An untimed pass first captures the graphs both use.
(c) evaluator   per family's hybrid at the first size: examples/s of `harness.evaluate.scoring.evaluate` on the `quick`
                suite's single-turn `mqar` test split vs lm-eval's `simple_evaluate` with `HFLM(pretrained=model)`
                on the same examples exported by hybrid_eval/harness/evaluate/lm_eval_export.py (same prompts, batch size and token
                budget); both mean scores are recorded and should be equal.

Choices for the GPU run (under ~8 minutes on an H100 / H200): N = 32 decode tokens per row (30 steady-state steps;
transformers' eager loop at ~10-50 ms/token makes each of its rows 0.3-1.5 s plus prefill); `--budget-s 360` for
(a), which runs base before large; 16 turns of 1024 user tokens after a 2048-token system prompt (~19k tokens at
turn 16); 200 test examples, batch 64, 16 new tokens for (c). Writes OUT/bench.json (rows, hardware, command,
versions) and OUT/table.md, the table printed last.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

GPU = dict(sizes=["base", "large"], contexts=[4096, 32768], batches=[1, 32], tokens=32, budget_s=360.0,
           turns=16, system_tokens=2048, turn_tokens=1024, answer_tokens=16, n_eval=200, eval_batch=64, eval_tokens=16)
QUICK = dict(sizes=["tiny"], contexts=[48], batches=[1, 3], tokens=6, budget_s=600.0,
             turns=4, system_tokens=24, turn_tokens=12, answer_tokens=4, n_eval=8, eval_batch=4, eval_tokens=4)
EVAL_TASK = "mqar"  # the `quick` suite's single-turn task used by (c)
log = logging.getLogger("bench_decode")


class BenchError(Exception):
    """A bad command line or machine: one line saying what to change."""


def variants() -> dict[str, tuple[str, str]]:
    """family -> (reference pattern, released pattern) for every registered family, in the catalog's order: the
    full-attention variant and the released hybrid that section (a) times, the hybrid being what (b) and (c) run."""
    from hybrid_eval import models

    return {name: (cls.reference_pattern, cls.released_pattern) for name, cls in models.FAMILIES.items()}


# --- setup ----------------------------------------------------------------------------------------

def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python benchmarks/bench_decode.py", description=__doc__.split("\n\n")[0])
    families = list(variants())
    p.add_argument("--families", nargs="+", default=families, choices=families)
    p.add_argument("--sizes", nargs="+", default=None, help="size presets (GPU default: base large)")
    p.add_argument("--contexts", nargs="+", type=int, default=None, help="prompt lengths for (a) (default 4096 32768)")
    p.add_argument("--batches", nargs="+", type=int, default=None, help="batch sizes for (a) (default 1 32)")
    p.add_argument("--tokens", type=int, default=None, help="decode tokens per row of (a) (default 32, >= 4)")
    p.add_argument("--turns", type=int, default=None, help="conversation turns for (b) (default 16)")
    p.add_argument("--sections", nargs="+", default=["decode", "multi_turn", "evaluator"],
                   choices=["decode", "multi_turn", "evaluator"])
    p.add_argument("--budget-s", type=float, default=None, help="seconds for section (a); later rows are skipped")
    p.add_argument("--out", default=None, help="output directory (default reports/perf/<device>-<date>)")
    p.add_argument("--cpu", action="store_true", help="run on CPU (default: CUDA, required)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, short contexts, a few tokens (the CPU smoke run)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else GPU
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.tokens < 4:
        raise BenchError(f"--tokens {args.tokens}: need >= 4 (steady state is decode steps 2..N-1)")
    if not args.cpu and not torch.cuda.is_available():
        raise BenchError("no CUDA device here; run with --cpu --quick for the CPU smoke run")
    return args


def hardware(device: torch.device) -> dict:
    import transformers

    from hybrid_eval import kernels

    info = {"device": str(device), "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "kernels_fla_available": kernels.fla_available()}
    if device.type == "cuda":
        prop = torch.cuda.get_device_properties(device)
        info.update(gpu=prop.name, gpu_memory_gib=round(prop.total_memory / 2**30, 1), cuda=torch.version.cuda)
    try:
        import fla

        info["fla"] = getattr(fla, "__version__", "?")
    except Exception:  # noqa: BLE001
        info["fla"] = None
    return info


def suite_data(n_test: int):
    """The `quick` suite reduced to EVAL_TASK: its config, task, test examples and word-level tokenizer."""
    from omegaconf import OmegaConf

    from hybrid_eval.harness.run import suite_tokenizer
    from hybrid_eval.tasks.data import Suite, load_splits
    from hybrid_eval.harness.evaluate.lm_eval_export import suite_config

    cfg = suite_config("quick")
    cfg.tasks = [t for t in cfg.tasks if t.name == EVAL_TASK]
    suite = Suite.from_config(OmegaConf.create(OmegaConf.to_container(cfg)))
    data = {t.alias: load_splits(t, {"test": n_test}, seed=cfg.seed, cache_dir=None) for t in suite.tasks}
    return cfg, suite.tasks[0], data[suite.tasks[0].alias]["test"], suite_tokenizer(suite, data)


def build(family: str, pattern: str, size: str, tokenizer, max_pos: int, device, dtype, seed: int = 0):
    """A probe like `models.build`, with `max_position_embeddings` = max_pos, built on `device`."""
    from transformers import AutoModelForCausalLM

    from hybrid_eval import models

    fam = models.get_family(family)
    knobs = dict(fam.knobs)
    config, _ = fam.matched_config(pattern, size, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                   eos_token_id=tokenizer.eos_token_id, max_position_embeddings=max_pos, **knobs)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config)
    fam.init_probe(model, torch.Generator().manual_seed(seed))
    return model.to(dtype).eval()


def free() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def oom_guard(fn):
    """fn() or {"error": "OOM"} when it runs out of GPU memory (memory is freed before returning)."""
    try:
        return fn()
    except torch.cuda.OutOfMemoryError:
        return {"error": "OOM"}
    finally:
        free()


# --- (a) decode -----------------------------------------------------------------------------------

def decode_mode(device) -> str:
    return "graph" if device.type == "cuda" else "static"


def ours(model, ids: torch.Tensor, n: int) -> dict:
    from hybrid_eval.harness.decode.static_decode import decoder_for

    engine = decoder_for(model, decode_mode(ids.device))
    engine.timed = True
    try:
        out = engine.generate(ids, torch.ones_like(ids), n, torch.empty(0, dtype=torch.long, device=ids.device))
        if out is None:
            return {"error": "static path unavailable (see the harness.decode.static_decode warning)"}
        t = dict(engine.timings)
        if t["steps"] < 1:
            return {"error": f"only {t['tokens']} tokens generated"}
        ms = 1000 * t["steps_s"] / t["steps"]
        return {"ms_per_token": ms, "tokens_per_s": ids.shape[0] * 1000 / ms, "prefill_s": t["prefill_s"],
                "first_step_s": t["first_step_s"], "copy_s": t["copy_s"], "path": engine.last_path,
                "generated": int(out.shape[1])}
    finally:
        engine.timed = False
        engine.slots.clear()  # a 32k x 32 static cache must not sit beside transformers' run


def transformers_generate(model, ids: torch.Tensor, n: int) -> dict:
    from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

    device = ids.device

    class Stamp(LogitsProcessor):  # called once per generated token, right after that step's forward
        def __init__(self):
            self.t = []

        def __call__(self, input_ids, scores):
            sync(device)
            self.t.append(time.perf_counter())
            return scores

    stamp = Stamp()
    config = GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=None, pad_token_id=0, use_cache=True)
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config,
                             logits_processor=LogitsProcessorList([stamp]))
    steps = len(stamp.t) - 2
    if steps < 1:
        return {"error": f"only {len(stamp.t)} tokens generated"}
    ms = 1000 * (stamp.t[-1] - stamp.t[1]) / steps
    return {"ms_per_token": ms, "tokens_per_s": ids.shape[0] * 1000 / ms, "prefill_s": stamp.t[0] - t0,
            "generated": int(out.shape[1] - ids.shape[1])}


def section_decode(args, tok, device, dtype, log_row) -> list[dict]:
    rows, start = [], time.perf_counter()
    n = args.tokens
    max_pos = max(args.contexts) + n + 8
    vocab = len(tok)
    for size in args.sizes:
        for family in args.families:
            for pattern in variants()[family]:
                if time.perf_counter() - start > args.budget_s:
                    rows += [{"family": family, "pattern": pattern, "size": size, "context": c, "batch": b,
                              "ours": {"error": "skipped"}, "transformers": {"error": "skipped"}}
                             for c in args.contexts for b in args.batches]
                    continue
                model = build(family, pattern, size, tok, max_pos, device, dtype)
                params = sum(p.numel() for p in model.parameters())
                g = torch.Generator().manual_seed(0)
                warm = torch.randint(4, vocab, (1, 64), generator=g).to(device)  # CUDA init, autotuning, first graph
                oom_guard(lambda: ours(model, warm, 8))
                oom_guard(lambda: transformers_generate(model, warm, 4))
                for context in args.contexts:
                    for batch in args.batches:
                        row = {"family": family, "pattern": pattern, "size": size, "params": params,
                               "context": context, "batch": batch, "tokens": n}
                        if time.perf_counter() - start > args.budget_s:
                            row.update(ours={"error": "skipped"}, transformers={"error": "skipped"})
                        else:
                            ids = torch.randint(4, vocab, (batch, context), generator=g).to(device)
                            row["ours"] = oom_guard(lambda: ours(model, ids, n))
                            row["transformers"] = oom_guard(lambda: transformers_generate(model, ids, n))
                            del ids
                        rows.append(row)
                        log_row("decode", row)
                del model
                free()
    return rows


# --- (b) multi-turn -------------------------------------------------------------------------------

def conversation_turns(model, args, vocab: int, end_id: int, device) -> list[list[int]]:
    """Each turn's history (ids ending where the model answers), from a reuse pass with the model's own answers;
    also the untimed pass that captures the graphs both timed passes replay."""
    from hybrid_eval.harness.decode.conversation import Conversation

    g = torch.Generator().manual_seed(1)
    new = lambda k: torch.randint(4, vocab, (k,), generator=g).tolist()  # noqa: E731
    conv, ids, histories = Conversation(model, decode=args.mode), new(args.system_tokens), []
    for _ in range(args.turns):
        ids = ids + new(args.turn_tokens)
        histories.append(ids)
        conv.extend_to(ids)
        ids = ids + conv.generate(max_new_tokens=args.answer_tokens, stop_ids=set()) + [end_id]
    return histories


def section_multi_turn(args, tok, device, dtype, log_row) -> list[dict]:
    from hybrid_eval.harness.decode.conversation import Conversation
    from hybrid_eval.harness.decode.greedy import greedy

    rows = []
    size = args.sizes[0]
    for family in args.families:
        pattern = variants()[family][1]
        row = {"family": family, "pattern": pattern, "size": size, "turns": args.turns, "decode": args.mode,
               "system_tokens": args.system_tokens, "turn_tokens": args.turn_tokens,
               "answer_tokens": args.answer_tokens}

        def run():
            max_pos = args.system_tokens + args.turns * (args.turn_tokens + args.answer_tokens + 1) + 8
            model = build(family, pattern, size, tok, max_pos, device, dtype)
            histories = conversation_turns(model, args, len(tok), tok.eos_token_id, device)
            reuse, rep = [], []
            conv = Conversation(model, decode=args.mode)
            for ids in histories:  # cache reuse: extend by the new tokens, decode
                sync(device)
                t0 = time.perf_counter()
                conv.extend_to(ids)
                conv.generate(max_new_tokens=args.answer_tokens, stop_ids=set())
                sync(device)
                reuse.append(time.perf_counter() - t0)
            tokens_reuse = conv.tokens_run
            for ids in histories:  # re-prefill the whole history every turn
                sync(device)
                t0 = time.perf_counter()
                greedy(model, [ids], max_new_tokens=args.answer_tokens, stop_ids=set(), pad_id=0, batch_size=1,
                       decode=args.mode)
                sync(device)
                rep.append(time.perf_counter() - t0)
            tokens_rep = sum(len(h) + args.answer_tokens - 1 for h in histories)
            at = {str(k): sum(rep[:k]) / sum(reuse[:k]) for k in (4, 8, 16, args.turns) if k <= args.turns}
            return {"history_tokens": [len(h) for h in histories], "reuse_s": reuse, "reprefill_s": rep,
                    "speedup_at": at, "tokens_run_reuse": tokens_reuse, "tokens_run_reprefill": tokens_rep,
                    "reprefills": conv.reprefills}

        row.update(oom_guard(run))
        rows.append(row)
        log_row("multi_turn", row)
    return rows


# --- (c) evaluator vs lm-eval ---------------------------------------------------------------------

def section_evaluator(args, suite_cfg, task, examples, tok, device, dtype, out_dir: Path, log_row) -> list[dict]:
    from omegaconf import OmegaConf

    from hybrid_eval.harness.evaluate.scoring import evaluate

    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError as e:
        return [{"error": f"lm-eval is not installed ({e}); pip install lm-eval"}]
    from hybrid_eval.harness.evaluate.lm_eval_export import export

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    export_dir = out_dir / "lm_eval_tasks"
    manifest = export(export_dir, suite_cfg, n_test=args.n_eval, max_new_tokens=args.eval_tokens)
    name = f"hybrid_eval_{manifest['suite']}_{task.alias}"  # the suite as exported (a reduced suite names itself)
    manager = TaskManager(include_path=str(export_dir), include_defaults=False)
    cfg = OmegaConf.create({"batch_size": args.eval_batch, "max_new_tokens": args.eval_tokens,
                            "multi_turn": "teacher_forced", "max_turns": None, "decode": args.mode})
    rows = []
    size = args.sizes[0]
    for family in args.families:
        pattern = variants()[family][1]
        row = {"family": family, "pattern": pattern, "size": size, "task": name, "examples": len(examples),
               "batch": args.eval_batch, "max_new_tokens": args.eval_tokens, "decode": args.mode}

        def run():
            model = build(family, pattern, size, tok, 8192, device, dtype)
            lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.eval_batch, max_length=8192,
                      add_bos_token=False)

            def harness_eval(exs):
                return evaluate(model, tok, {task.alias: task}, {task.alias: exs}, cfg)

            def lm_eval_run(limit=None):
                return lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=manager, limit=limit,
                                               bootstrap_iters=0, log_samples=False, verbosity="ERROR")

            harness_eval(examples[:4]), lm_eval_run(limit=4)  # warm-up: CUDA init, autotuning (untimed)
            sync(device)
            t0 = time.perf_counter()
            records = harness_eval(examples)
            sync(device)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            results = lm_eval_run()
            sync(device)
            t_lm = time.perf_counter() - t0
            score_ours = sum(r["score"] for r in records) / len(records)
            score_lm = results["results"][name]["score,none"]
            return {"ours_s": t_ours, "lm_eval_s": t_lm, "ours_examples_per_s": len(records) / t_ours,
                    "lm_eval_examples_per_s": len(records) / t_lm, "speedup": t_lm / t_ours,
                    "score_ours": score_ours, "score_lm_eval": score_lm,
                    "scores_equal": abs(score_ours - score_lm) < 1e-9}

        row.update(oom_guard(run))
        rows.append(row)
        log_row("evaluator", row)
    return rows


# --- report ---------------------------------------------------------------------------------------

def _num(x, fmt="{:.2f}") -> str:
    return fmt.format(x) if isinstance(x, (int, float)) else "-"


def _cell(r: dict, key: str, fmt="{:.2f}") -> str:
    return r.get("error", "?") if "error" in r else _num(r.get(key), fmt)


def table(result: dict) -> str:
    lines = [f"hardware: {result['hardware'].get('gpu', result['hardware']['cpu'])}; command: {result['command']}", ""]
    if result.get("decode"):
        lines += ["(a) decode, steady state (ours: static cache + CUDA graph on GPU; transformers: generate)", "",
                  "| family | pattern | size | context | batch | ours ms/tok | hf ms/tok | speedup | ours tok/s | hf tok/s | path |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in result["decode"]:
            o, h = r["ours"], r["transformers"]
            sp = h["ms_per_token"] / o["ms_per_token"] if "ms_per_token" in o and "ms_per_token" in h else None
            lines.append(f"| {r['family']} | {r['pattern']} | {r['size']} | {r['context']} | {r['batch']} | "
                         f"{_cell(o, 'ms_per_token', '{:.3f}')} | {_cell(h, 'ms_per_token', '{:.3f}')} | "
                         f"{_num(sp, '{:.1f}x')} | {_cell(o, 'tokens_per_s', '{:.0f}')} | "
                         f"{_cell(h, 'tokens_per_s', '{:.0f}')} | {o.get('path', '-')} |")
        lines.append("")
    if result.get("multi_turn"):
        lines += ["(b) multi-turn: cache reuse vs re-prefilling every turn (total time speedup after k turns)", "",
                  "| family | pattern | size | final history | 4 | 8 | 16 | tokens run (reprefill / reuse) |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in result["multi_turn"]:
            at = r.get("speedup_at", {})
            ratio = r["tokens_run_reprefill"] / r["tokens_run_reuse"] if "tokens_run_reuse" in r else None
            final = (r.get("history_tokens") or [None])[-1]
            cells = [r["family"], r["pattern"], r["size"], _num(final, "{}"),
                     *(_num(at.get(k), "{:.1f}x") for k in ("4", "8", "16")), _num(ratio, "{:.1f}x")]
            lines.append("| " + " | ".join(cells) + " |" + (f" {r['error']}" if "error" in r else ""))
        lines.append("")
    if result.get("evaluator"):
        lines += ["(c) evaluator: examples/s on one single-turn task", "",
                  "| family | pattern | size | examples | ours ex/s | lm-eval ex/s | speedup | scores equal |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in result["evaluator"]:
            if "family" not in r:
                lines.append(f"| {r.get('error')} |")
                continue
            cells = [r["family"], r["pattern"], r["size"], str(r["examples"]), _cell(r, "ours_examples_per_s", "{:.1f}"),
                     _cell(r, "lm_eval_examples_per_s", "{:.1f}"), _num(r.get("speedup"), "{:.1f}x"),
                     str(r.get("scores_equal", "-"))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")  # lm-eval's progress bars
    try:
        args = parse(argv)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    device = torch.device("cpu" if args.cpu else "cuda")
    dtype = torch.float32 if args.cpu else torch.bfloat16
    args.mode = decode_mode(device)
    stamp = time.strftime("%Y-%m-%d")
    out = Path(args.out or f"reports/perf/{'cpu' if args.cpu else 'gpu'}-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    def log_row(section, row):  # every row is kept in rows.jsonl as it comes: a run cut short keeps its numbers
        with open(out / "rows.jsonl", "a") as f:
            f.write(json.dumps({"section": section, **row}, default=str) + "\n")
        line = json.dumps(row, default=str)[:400]
        print(f"[{time.perf_counter() - t_start:6.1f}s] {section}: {line}", file=sys.stderr)

    from hybrid_eval import kernels

    calls_before = dict(kernels.calls)
    suite_cfg, task, examples, tok = suite_data(args.n_eval)
    argv = sys.argv[1:] if argv is None else list(argv)
    result = {"command": " ".join(["python benchmarks/bench_decode.py", *map(shlex.quote, argv)]),
              "date": stamp, "hardware": hardware(device), "dtype": str(dtype).replace("torch.", ""),
              "settings": {k: v for k, v in vars(args).items() if k not in ("out",)}, "vocab_size": len(tok)}
    if "decode" in args.sections:
        result["decode"] = section_decode(args, tok, device, dtype, log_row)
    if "multi_turn" in args.sections:
        result["multi_turn"] = section_multi_turn(args, tok, device, dtype, log_row)
    if "evaluator" in args.sections:
        result["evaluator"] = section_evaluator(args, suite_cfg, task, examples, tok, device, dtype, out, log_row)
    result["kernel_calls"] = {f"{op}:{b}": n - calls_before.get((op, b), 0)  # graph replays are not counted
                              for (op, b), n in sorted(kernels.calls.items()) if n > calls_before.get((op, b), 0)}
    result["seconds"] = time.perf_counter() - t_start
    (out / "bench.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    text = table(result)
    (out / "table.md").write_text(text + "\n")
    print(text)
    print(f"\nwrote {out / 'bench.json'} and {out / 'table.md'} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
