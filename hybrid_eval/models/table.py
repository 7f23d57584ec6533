"""Parameters, layer types and inference-cache bytes of every family, preset and pattern, as a Markdown report.

    hybrid-eval-models > reports/models.md

Counts come from the models themselves (built on the meta device, as `Family.count_params` does) and the cache
bytes from `Family.cache_bytes`, the formula the tests check against the tensors a model's cache really holds.
Families, their released and reference patterns come from the registry (`models.FAMILIES`), so a new family
appears here without an edit; the named presets (`model.preset`, models/presets.py) get a table of their own.
Sliding-window (S) layers are counted at `--window` tokens (default: `model.window`'s).
"""
from __future__ import annotations

import argparse

import transformers

from hybrid_eval.models import get_family
from hybrid_eval.models.family import FAMILIES, ModelConfigError
from hybrid_eval.models.presets import SYSTEMS
from hybrid_eval.models.window import DEFAULT_WINDOW

CONTEXTS = (4096, 32768, 131072, 1 << 20)
CTX_NAMES = ("4k", "32k", "128k", "1M")
VOCAB = 4096
PATTERNS = ("F", "LF", "LLLF", "LLLLLLLF", "L")  # linear-layer shares 0, 1/2, 3/4, 7/8, 1 (families of F/L layers)
WINDOW_PATTERNS = ("SSSF", "LS", "LLLS")  # sliding-window hybrids: MiniMax's, Gated DeltaNet-H1's, a 3:1 GDN + SWA
PRESET_CONTEXTS = (4096, 32768, 131072)


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def patterns_of(family) -> list[str]:
    """The sweep `PATTERNS` for a family of F/L layers, then the family's own `patterns` not in it (all of them for a
    family whose variants are other words, such as DeepSeek's dense / sparse)."""
    out = list(PATTERNS) + list(WINDOW_PATTERNS) if {"F", "L"} <= set(family.layer_names) else []
    return out + [p for p in family.patterns if p not in out]


def layer_letters(family, kinds: list[str]) -> str:
    """Per-layer kinds as letters: F full, L linear, S sliding-window, T DSA top-k (DeepSeek's `sparse`)."""
    letters = {t: c for c, t in family.layer_names.items() if len(c) == 1}
    letters.update({"full_attention": "F", "sparse_attention": "T", "sliding_attention": "S"})
    return "".join(letters.get(k, "?") for k in kinds)


def rows(family, size: str, vocab: int, window: int = DEFAULT_WINDOW) -> list[dict]:
    preset = family.preset(size)
    out = []
    for pattern in patterns_of(family):
        try:
            config, match = family.matched_config(pattern, size, vocab, window=window)
        except ModelConfigError:  # a pattern longer than this preset's depth (LLLLLLLF on 4 layers)
            continue
        kinds = family.layer_kinds(config)
        words = len(set(kinds)) == 1 and len(pattern) > 1  # DeepSeek's dense / sparse
        types = f"{kinds[0]} x{len(kinds)}" if words else layer_letters(family, kinds)
        cache = [family.cache_bytes(config, c) for c in CONTEXTS]
        out.append({"pattern": pattern, "params": match["params"], "ratio": match["param_ratio"], "types": types,
                    "cache": cache, "preset": preset, "mlp": match["intermediate_size"]})
    return out


def table(name: str, size: str, vocab: int, window: int = DEFAULT_WINDOW) -> list[str]:
    family = get_family(name)
    rs = rows(family, size, vocab, window)
    ref = next(r for r in rs if r["pattern"] == family.reference_pattern)
    p = rs[0]["preset"]
    lines = [f"### {name} · {size} (width {p.hidden}, {p.layers} layers, {p.heads} heads x {p.head_dim})", "",
             "| pattern | params | vs " + family.reference_pattern + " | MLP width | layers | "
             + " | ".join(f"cache {c}" for c in CTX_NAMES) + " | " + " | ".join(f"÷ {family.reference_pattern} {c}" for c in CTX_NAMES) + " |",
             "|---|---:|---:|---:|---|" + "---:|" * (2 * len(CONTEXTS))]
    for r in rs:
        cache = " | ".join(human(c["total"]) for c in r["cache"])
        ratio = " | ".join(f"{c['total'] / rc['total']:.3f}" for c, rc in zip(r["cache"], ref["cache"]))
        lines.append(f"| `{r['pattern']}` | {r['params'] / 1e6:.2f}M | {r['ratio']:.3f} | {r['mlp']} | {r['types']} | {cache} | {ratio} |")
    return lines + [""]


def headline(vocab: int) -> list[str]:
    lines = ["| family (base) | hybrid | full mixer, KV per token per layer | linear state per layer | "
             + " | ".join(f"hybrid ÷ full {c}" for c in CTX_NAMES) + " |", "|---|---|---:|---:|" + "---:|" * len(CONTEXTS)]
    for name in FAMILIES:
        family = get_family(name)
        hyb, _ = family.matched_config(family.released_pattern, "base", vocab)
        full, _ = family.matched_config(family.reference_pattern, "base", vocab)
        n_full = sum(k != "linear_attention" for k in family.layer_kinds(full))
        n_lin = sum(k == "linear_attention" for k in family.layer_kinds(hyb))
        kv_tok = (family.cache_bytes(full, 2)["total"] - family.cache_bytes(full, 1)["total"]) / n_full
        state = family.cache_bytes(hyb, 1)["linear"] / n_lin if n_lin else 0
        ratios = " | ".join(f"{family.cache_bytes(hyb, c)['total'] / family.cache_bytes(full, c)['total']:.3f}" for c in CONTEXTS)
        lines.append(f"| {name} | `{family.released_pattern}` vs `{family.reference_pattern}` | {human(kv_tok)} | "
                     f"{human(state)} | {ratios} |")
    return lines


def presets_table(vocab: int, size: str = "base", window: int = DEFAULT_WINDOW) -> list[str]:
    """One row per named preset at `size`: family, pattern, the layers it builds, parameters, cache bytes per sequence
    at 4k / 32k / 128k tokens, and the system it follows."""
    lines = ["| preset | family | pattern | layers | params | " + " | ".join(f"cache {c}" for c in CTX_NAMES[:3])
             + " | follows |", "|---|---|---|---|---:|" + "---:|" * len(PRESET_CONTEXTS) + "---|"]
    for name, p in SYSTEMS.items():
        family = get_family(p.family)
        config, match = family.matched_config(p.pattern, size, vocab, window=window)
        kinds = layer_letters(family, family.layer_kinds(config))
        cache = " | ".join(human(family.cache_bytes(config, c)["total"]) for c in PRESET_CONTEXTS)
        lines.append(f"| `{name}` | {p.family} | `{p.pattern}` | {kinds} | {match['params'] / 1e6:.2f}M | {cache} | "
                     f"{p.follows} |")
    return lines


def report(vocab: int = VOCAB, window: int = DEFAULT_WINDOW) -> str:
    from hybrid_eval.models.deepseek_v32 import DeepseekV32, caches_latent

    kimi = get_family("kimi_linear")
    hyb, _ = kimi.matched_config("LLLF", "base", vocab)
    full, _ = kimi.matched_config("F", "base", vocab)
    save = {c: 1 - kimi.cache_bytes(hyb, c)["total"] / kimi.cache_bytes(full, c)["total"] for c in CONTEXTS}
    state = kimi.cache_bytes(hyb, 1)["linear"]
    n_lin = sum(t == "linear_attention" for t in hyb.layer_types)
    kv_layer_tok = (kimi.cache_bytes(full, 2)["total"] - kimi.cache_bytes(full, 1)["total"]) / full.num_hidden_layers
    crossover = state / (n_lin * kv_layer_tok)  # tokens at which the linear layers' state equals the KV they save
    ds, _ = get_family("deepseek_v32").matched_config("dense", "base", vocab)
    latent, expanded = (DeepseekV32.kv_values_per_token(ds, x) for x in (True, False))
    if caches_latent():
        ds_text = (f"this transformers caches the compressed latent ({latent} values per token and layer at `base`; "
                   f"transformers 5.17, the GPU image's version, caches every head's expanded K and V instead: "
                   f"{expanded} values, {expanded / latent:.1f}x more)")
    else:
        ds_text = (f"this transformers caches every head's expanded K and V ({expanded} values per token and layer at "
                   f"`base`; later versions cache the compressed latent instead: {latent} values, "
                   f"{expanded / latent:.1f}x less)")
    lines = [
        "# Model families: parameters, layer types, inference cache",
        "",
        f"Made by `hybrid-eval-models > reports/models.md` (transformers {transformers.__version__}, CPU, no weights "
        f"allocated: models are built on the meta device). Vocabulary {vocab} for every row. Cache: bytes one sequence "
        "holds at batch 1 with the model in bfloat16, counted as transformers stores it (KDA and Gated DeltaNet "
        "recurrent states in float32, conv states and lightning states in the model dtype); `tests/models/test_describe.py` "
        "checks this formula against the bytes of every tensor in the cache object after a forward pass. Parameters of "
        "every pattern are matched to the reference variant (`F`, or `dense` for DeepSeek) by the MLP width.",
        "",
        "## Named presets (`model.preset`, base size)",
        "",
        f"`layers`: each layer's mixer (F full attention, L linear, S sliding-window attention over {window} tokens, "
        "T DeepSeek's DSA top-k). Cache: bytes per sequence, bfloat16, an S layer holding window - 1 tokens.",
        "",
        *presets_table(vocab, window=window),
        "",
        "## Headline (base preset)",
        "",
        *headline(vocab),
        "",
        "## Kimi Linear's \"75% less KV cache\"",
        "",
        f"Our Kimi Linear `LLLF` probe at `base` saves {100 * save[CONTEXTS[0]]:.1f}% of the all-MLA (`F`) cache at 4k tokens, "
        f"{100 * save[CONTEXTS[1]]:.1f}% at 32k, {100 * save[CONTEXTS[2]]:.1f}% at 128k and {100 * save[CONTEXTS[3]]:.2f}% at 1M. "
        "The claimed 75% is the share of layers that stop growing a KV cache (3 of 4). It is the limit of our saving, "
        f"approached from below, because the KDA layers are not free: together they keep a constant {human(state)} "
        f"({n_lin} layers, each a float32 {hyb.linear_num_heads} x {hyb.linear_head_dim} x {hyb.linear_head_dim} state plus "
        f"a {hyb.linear_conv_kernel_dim}-column conv window over q, k, v), as much as the KV they avoid at "
        f"{crossover:,.0f} tokens. So at short context the saving is well below 75% and only long contexts reach it. "
        "Two more differences from production numbers: the MLA layers already cache only the compressed latent "
        f"({full.kv_lora_rank} + {full.qk_rope_head_dim} values per token and layer, one 'head'), so the 75% is of a cache "
        "that is already small next to GQA's (compare qwen3_next's `F` above); and transformers stores the KDA state in "
        "float32 whatever the model dtype.",
        "",
        f"DeepSeek-V3.2: {ds_text}, plus the indexer's own single-head keys ({ds.index_head_dim} values). `sparse` "
        "and `dense` cache the same bytes: DSA saves attention compute, not memory. MiniMax: lightning states are kept "
        "in the model dtype and have no conv window, so its linear layers are the cheapest; its GQA full layers cache "
        "2 x kv_heads x head_dim values per token.",
        "",
        "## Every family, preset and pattern",
        "",
        f"`layers`: the mixer of each layer (F full attention, L linear, S sliding-window attention over {window} "
        "tokens); `÷ ref`: cache bytes over the reference variant's at the same context.",
        "",
    ]
    for name in sorted(FAMILIES):
        lines += [f"## {name}", ""]
        for size in get_family(name).presets:
            lines += table(name, size, vocab, window)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hybrid-eval-models", description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=VOCAB, help=f"vocabulary size of every model (default {VOCAB})")
    ap.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                    help=f"tokens of a sliding-window (S) layer (default {DEFAULT_WINDOW}, model.window's)")
    args = ap.parse_args(argv)
    if args.window < 2:
        ap.error(f"--window={args.window}; accepted: an integer >= 2")
    print(report(args.vocab, args.window))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
