"""Bare-token MQAR (Zoology's format) for probes built by hybrid-eval's model families, with init variants.

The harness's own tasks are chat transcripts; this script isolates the mixer and its initialisation on the
task docs/design.md §4 measured (keys, values, distractors, queries as raw tokens), with the models the harness builds.

    python experiments/mqar_probe.py OUT.jsonl RUN [RUN ...] [--d 512 --layers 8 ...]
    RUN = family:pattern:init:lr[:opt...]   init = recipe | transformers;  family = a model family, or llama
          (an outside control, diagnosis only: transformers' plain Llama, pattern F, init transformers)
          opt = wd_all (decay every parameter, as the first reference probe script did, docs/design.md §4) | fp32 (no bf16 autocast)
          | NAME=VALUE (overrides --NAME for this run)
          | slow_dt (diagnosis only: dt ~ logU(1e-4, 1e-3), slower initial decay)
          | no_decay (diagnosis only: A = e^-30 and frozen, so the gated delta rule / KDA decays nothing)
          | fixed_gate (diagnosis only: Qwen3-Next's output gate held at 0.5, not learned)
          | fixed_attn_gate (diagnosis only: Qwen3-Next's gated attention keeps its output gate at sigmoid(0) = 0.5:
          the gate half of q_proj is zeroed and gets no gradient)
          | sigmoid_gate (diagnosis only: Qwen3-Next's gated output norm uses sigmoid(z), as Kimi's KDA does,
          instead of silu(z); not the released architecture)
          | conv_embed (diagnosis only: a causal depthwise convolution of width 4 added to the token embeddings,
          the token shift every linear layer here has in front of it and Zoology's MQAR models have in layer 0;
          not the released architecture)
          | no_rope (diagnosis only: the rotary embedding made the identity, so attention sees no positions)
          | no_qk_norm (diagnosis only: Qwen3-Next's attention without its per-head RMSNorm on queries and keys)
          | full_rope (diagnosis only: RoPE on every query/key dimension instead of Qwen3-Next's quarter)
e.g. qwen3_next:L:transformers:1e-3 qwen3_next:L:recipe:1e-3 qwen3_next:LLLF:recipe:1e-3
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from hybrid_eval.harness.train.loop import lr_at
from hybrid_eval.models import get_family
from hybrid_eval.models.family import Preset


FILLERS = ("keys", "fresh_keys", "blank")


def mqar_batch(bs, kv, seq, n_keys, n_values, g, device, filler="keys"):
    """(x, labels): kv key-value pairs, seq - 4 kv distractor keys (filler="keys": any key, so a queried key can
    recur in the gap followed by another key; "fresh_keys": only keys that are not among the pairs; "blank": one
    fixed token, id 3), then the kv queries each followed by its value."""
    order = torch.rand(bs, n_keys, generator=g, device=device).argsort(-1)
    keys = order[:, :kv] + 4
    vals = torch.randint(0, n_values, (bs, kv), generator=g, device=device) + 4 + n_keys
    ctx = torch.stack([keys, vals], -1).reshape(bs, 2 * kv)
    qi = torch.rand(bs, kv, generator=g, device=device).argsort(-1)
    qk, qv = torch.gather(keys, 1, qi), torch.gather(vals, 1, qi)
    pad = seq - 4 * kv
    if filler == "keys":
        gap = torch.randint(4, 4 + n_keys, (bs, pad), generator=g, device=device)
    elif filler == "fresh_keys":  # uniform over the n_keys - kv keys not in the context
        pick = torch.randint(kv, n_keys, (bs, pad), generator=g, device=device)
        gap = torch.gather(order, 1, pick) + 4
    else:
        gap = torch.full((bs, pad), 3, dtype=keys.dtype, device=device)
    x = torch.cat([ctx, gap, torch.stack([qk, qv], -1).reshape(bs, 2 * kv)], 1)
    labels = torch.full_like(x, -100)
    labels[:, 2 * kv + pad + 1 :: 2] = qv
    return x, labels


def accuracy(model, a, device, amp):
    g = torch.Generator(device=device).manual_seed(123)
    hits = torch.zeros(a.kv)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        for _ in range(4):
            x, y = mqar_batch(256, a.kv, a.seq, a.keys, a.values, g, device, a.filler)
            pred = model(x, use_cache=False).logits[:, :-1].argmax(-1)
            tgt = y[:, 1:]
            mask = tgt != -100
            hits += (pred[mask] == tgt[mask]).view(-1, a.kv).float().sum(0).cpu()  # per query, in asking order
    by_query = hits / (4 * 256)
    return by_query.mean().item(), [round(h, 3) for h in by_query.tolist()]


OPTIONS = ("wd_all", "fp32", "no_decay", "slow_dt", "fixed_gate", "sigmoid_gate", "fixed_attn_gate", "conv_embed",
           "no_rope", "no_qk_norm", "full_rope")


class ConvEmbedding(torch.nn.Module):
    """Token embeddings plus a causal depthwise convolution of them (width 4, zero-initialised, so training starts
    from the unmodified model): each position sees its last 3 tokens before any attention layer."""

    def __init__(self, embed: torch.nn.Embedding, width: int = 4):
        super().__init__()
        self.embed = embed
        self.conv = torch.nn.Conv1d(embed.embedding_dim, embed.embedding_dim, width, groups=embed.embedding_dim,
                                    padding=width - 1, bias=False)
        torch.nn.init.zeros_(self.conv.weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.embed(ids)
        return e + self.conv(e.transpose(1, 2))[..., : ids.shape[1]].transpose(1, 2)


def parse(spec: str, a) -> tuple[str, str, str, float, list[str], argparse.Namespace]:
    """RUN = family:pattern:init:lr[:opt...] -> (family, pattern, init, lr, opts, args with NAME=VALUE applied)."""
    family_name, pattern, init, lr, *opts = spec.split(":")
    a = argparse.Namespace(**vars(a))
    for o in opts:
        if "=" in o:
            key, value = o.split("=")
            if not hasattr(a, key):
                raise SystemExit(f"mqar_probe: unknown setting {key!r} in {spec!r}; accepted: {', '.join(sorted(vars(a)))}")
            setattr(a, key, type(getattr(a, key))(value))
        elif o not in OPTIONS:
            raise SystemExit(f"mqar_probe: unknown option {o!r} in {spec!r}; accepted: {', '.join(OPTIONS)}, NAME=VALUE")
    if a.filler not in FILLERS:
        raise SystemExit(f"mqar_probe: filler={a.filler!r} in {spec!r}; accepted: {', '.join(FILLERS)}")
    return family_name, pattern, init, float(lr), opts, a


def _named(type_name: str):
    return lambda module: type(module).__name__ == type_name


def _targets(model, switch: str, matches) -> list:
    """The modules a diagnosis switch changes; a switch that matches none in this model stops the run (one line)."""
    found = [m for m in model.modules() if matches(m)]
    if not found:
        raise SystemExit(f"mqar_probe: switch {switch!r} changes nothing in {type(model).__name__} (it has no layer "
                         "it applies to); accepted: switches for this model's layers, see --help")
    return found


def build(family_name: str, pattern: str, init: str, opts: list[str], a):
    """The probe of one run, initialised (recipe or transformers) and with the diagnosis options applied."""
    preset = Preset(hidden=a.d, layers=a.layers, heads=a.d // 64, head_dim=64)
    vocab, intermediate = 4 + a.keys + a.values, int(a.d * 3)
    if family_name == "llama":  # outside control, diagnosis only: transformers' plain Llama (full RoPE, no gate/QK-norm)
        if pattern != "F" or init != "transformers":
            raise SystemExit(f"mqar_probe: the llama control is pattern F with init transformers; got {pattern}:{init}")
        family = None
        config = AutoConfig.for_model("llama", **preset.trunk(vocab, intermediate, {"pad_token_id": 0}),
                                      num_key_value_heads=preset.heads, head_dim=preset.head_dim)
    else:
        family = get_family(family_name)
        config = family.hf_config(pattern, preset, vocab, intermediate, pad_token_id=0)
    if (a.rope_theta or "full_rope" in opts or "no_rope" in opts) and not getattr(config, "rope_parameters", None):
        raise SystemExit(f"mqar_probe: a RoPE switch or setting given, but {family_name}'s attention has no rotary "
                         "embedding")
    if a.rope_theta:  # diagnosis only: the attention layers' RoPE base frequency
        config.rope_parameters["rope_theta"] = a.rope_theta
    if "full_rope" in opts:  # diagnosis only: RoPE on every query/key dimension (Qwen3-Next rotates a quarter)
        config.rope_parameters["partial_rotary_factor"] = 1.0
    torch.manual_seed(a.seed)
    model = AutoModelForCausalLM.from_config(config)
    if init == "recipe":
        family.init_probe(model, torch.Generator().manual_seed(a.seed))
    if "slow_dt" in opts:  # diagnosis only: dt ~ logU(1e-4, 1e-3) instead of (1e-3, 1e-1): slower initial decay
        for module in _targets(model, "slow_dt", lambda m: hasattr(m, "dt_bias") and hasattr(m, "A_log")):
                u = torch.rand(module.dt_bias.shape, generator=torch.Generator().manual_seed(0))
                dt = torch.exp(u * (math.log(1e-3) - math.log(1e-4)) + math.log(1e-4))
                module.dt_bias.data.copy_(dt + torch.log(-torch.expm1(-dt)))
    if "no_decay" in opts:  # diagnosis only: e^g = 1 in every linear layer (plain delta rule), A frozen at ~0
        for module in _targets(model, "no_decay", lambda m: hasattr(m, "A_log")):
                module.A_log.data.fill_(-30.0)
                module.A_log.requires_grad_(False)
    if "fixed_gate" in opts:  # diagnosis only: Qwen3-Next's output gate held at sigmoid(0) = 0.5 (no learned gate)
        for module in _targets(model, "fixed_gate", _named("Qwen3NextRMSNormGated")):
                module.activation = "sigmoid"
                module.forward = (lambda f: lambda hidden, gate: f(hidden, torch.zeros_like(gate)))(module.forward)
    if "fixed_attn_gate" in opts:  # diagnosis only: q_proj's gate rows (per head: query dims, then gate dims) at 0
        for module in _targets(model, "fixed_attn_gate", _named("Qwen3NextAttention")):
                weight, d = module.q_proj.weight, module.head_dim
                rows = (torch.arange(weight.shape[0]) % (2 * d) >= d)[:, None]
                weight.data.masked_fill_(rows, 0.0)
                weight.register_hook(lambda grad, rows=rows: grad.masked_fill(rows.to(grad.device), 0.0))
    if "no_rope" in opts:  # diagnosis only: the rotary embedding returns cos 1, sin 0 (identity): no positions
        model.model.rotary_emb.register_forward_hook(lambda m, i, cos_sin: (torch.ones_like(cos_sin[0]),
                                                                            torch.zeros_like(cos_sin[1])))
    if "no_qk_norm" in opts:
        for module in _targets(model, "no_qk_norm", _named("Qwen3NextAttention")):
                module.q_norm, module.k_norm = torch.nn.Identity(), torch.nn.Identity()
    if "conv_embed" in opts:
        model.model.embed_tokens = ConvEmbedding(model.model.embed_tokens)
    if "sigmoid_gate" in opts:
        for module in _targets(model, "sigmoid_gate", _named("Qwen3NextRMSNormGated")):
                module.activation = "sigmoid"
    return model


def train_shape(step: int, a) -> tuple[int, int]:
    """(pairs, sequence length) of training step `step` under the curricula: pairs grow 2 -> --kv over
    --curriculum steps (the sequence keeps --seq); the gap between pairs and queries grows 0 -> --seq - 4 --kv
    over --gap-curriculum steps; with --mix, every step draws its pairs uniformly from 2..--kv (Zoology trains on
    such a mixture), the rest of --seq being filler."""
    if a.mix:
        kv = random.Random(a.seed * 1_000_003 + step).randint(2, a.kv)
    elif a.curriculum:
        kv = max(2, min(a.kv, round(a.kv * (step + 1) / a.curriculum)))
    else:
        kv = a.kv
    if not a.gap_curriculum:
        return kv, a.seq
    return kv, 4 * kv + round((a.seq - 4 * a.kv) * min(1.0, step / a.gap_curriculum))


def run(spec: str, a, device):
    family_name, pattern, init, lr, opts, a = parse(spec, a)
    amp = device.type == "cuda" and "fp32" not in opts
    model = build(family_name, pattern, init, opts, a)
    model.to(device)
    params = [p for p in model.parameters()]
    if "wd_all" in opts:
        groups = [{"params": params, "weight_decay": 0.1}]
    else:
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))
    g = torch.Generator(device=device).manual_seed(a.seed)
    warmup = a.warmup if a.warmup >= 0 else a.steps // 10
    curve, by_query, t0, stopped = [], [], time.time(), None
    for step in range(a.steps):
        if a.max_seconds and time.time() - t0 > a.max_seconds:  # the time budget ran out before the step budget
            stopped = step
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.steps, lr, warmup)
        kv, seq = train_shape(step, a)
        x, y = mqar_batch(a.batch, kv, seq, a.keys, a.values, g, device, a.filler)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = model(x, labels=y, use_cache=False).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % a.eval_every == 0 or step + 1 == a.steps:
            model.eval()
            acc, by_query = accuracy(model, a, device, amp)
            curve.append([step + 1, round(loss.item(), 3), round(acc, 4)])
            print(f"{spec} step {step + 1} loss {curve[-1][1]} acc {curve[-1][2]} ({time.time() - t0:.0f} s)", flush=True)
            model.train()
    if stopped is not None and stopped > 0 and (not curve or curve[-1][0] != stopped):
        model.eval()
        acc, by_query = accuracy(model, a, device, amp)
        curve.append([stopped, round(loss.item(), 3), round(acc, 4)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    out = dict(run=spec, family=family_name, pattern=pattern, init=init, lr=lr, opts=opts, d=a.d, layers=a.layers,
               kv=a.kv, seq=a.seq, keys=a.keys, values=a.values, batch=a.batch, steps=a.steps,
               seed=a.seed, rope_theta=a.rope_theta or None, curriculum=a.curriculum, mix=a.mix,
               gap_curriculum=a.gap_curriculum, filler=a.filler,
               warmup=warmup,
               params=sum(p.numel() for p in model.parameters()), chance=1 / a.values, acc=curve[-1][2],
               best_acc=max(c[2] for c in curve), final_loss=curve[-1][1], initial_loss_uniform=round(math.log(a.values), 3),
               stopped_at_step=stopped, curve=curve, acc_by_query=by_query, seconds=round(time.time() - t0, 1), device=torch.cuda.get_device_name() if device.type == "cuda" else "cpu")
    print(json.dumps(out), flush=True)
    return out


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python experiments/mqar_probe.py", description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--kv", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--keys", type=int, default=512)
    ap.add_argument("--values", type=int, default=512)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--warmup", type=int, default=-1, help="linear warmup steps before the cosine decay (-1: a tenth of --steps)")
    ap.add_argument("--curriculum", type=int, default=0,
                    help="train on 2 -> --kv pairs, growing linearly over this many steps (0: --kv throughout; "
                         "evaluation always uses --kv)")
    ap.add_argument("--mix", type=int, default=0, help="1: each training step draws its number of pairs uniformly "
                    "from 2..--kv (evaluation always uses --kv)")
    ap.add_argument("--gap-curriculum", type=int, default=0,
                    help="train with a gap between pairs and queries growing linearly from 0 to its full length "
                         "(--seq - 4 --kv) over this many steps (0: full gap throughout; evaluation always uses it)")
    ap.add_argument("--filler", default="keys", help="the gap between pairs and queries: random keys (keys), random "
                    "keys that are not among the pairs (fresh_keys), or one fixed token (blank)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialisation and of the training data")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rope-theta", type=float, default=0.0, help="diagnosis: RoPE base frequency of the attention "
                    "layers (0: the config's; transformers' default for Qwen3-Next and Llama is 10000)")
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop a run's training after this many seconds (recorded as stopped_at_step; 0: no limit)")
    return ap


def main():
    a = parser().parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with open(a.out, "a") as f:
        for spec in a.runs:
            f.write(json.dumps(run(spec, a, device)) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
