"""Training budgets: what each job was trained with (steps, warmup, batch, learning rate or grid, tokens) and whether
the jobs of one comparison share it; and the per-job training summary of gaps.json, with its convergence verdict
(train/protocol.py). Variants trained on unequal budgets are not compared on equal terms."""
from __future__ import annotations

from hybrid_eval.harness.train import protocol


def train_summary(job: dict) -> dict:
    """The training summary gaps.json keeps per job: budget, losses, convergence (protocol.py) and the grid."""
    tr = job.get("train") or {}
    keep = ("steps", "warmup_steps", "batch_size", "lr", "tokens", "epochs", "seconds", "tokens_per_s", "initial_loss",
            "final_loss", "val_loss")
    out = {k: tr.get(k) for k in keep} | {"improving": protocol.convergence(tr)}
    if tr.get("lr_grid"):
        out["lr_grid"] = [{k: r.get(k) for k in ("lr", "val_accuracy", "final_loss", "val_loss", "did_not_train", "still_improving", "chosen")}
                          for r in tr["lr_grid"]]
    return out


# with a grid, `lr` is the chosen rate and may differ: the grid is the budget
BUDGET = ("steps", "warmup_steps", "batch_size", "lr", "lr_grid")


def _budget(job: dict) -> dict:
    tr = job.get("train") or {}
    grid = sorted(float(r["lr"]) for r in tr.get("lr_grid") or []) or None
    return {"steps": tr.get("steps"), "warmup_steps": tr.get("warmup_steps"), "batch_size": tr.get("batch_size"),
            "lr": None if grid else tr.get("lr"), "lr_grid": grid, "tokens": tr.get("tokens")}


def budgets(jobs: list[dict]) -> list[dict]:
    """The training budget of each comparison (the jobs of one family and size under the same other swept
    overrides: variants, their baseline, every seed): steps, batch size, learning rate or grid, and tokens
    (equal among the jobs of one seed, which share a data order), and the warmup (it decides whether small
    attention probes leave their recall plateau: reports/probe-training.md §5). `differs` names every budget item
    the jobs do not share, with each job's value: such variants are not compared on equal terms.

    [{comparison, jobs, shared: {steps, warmup_steps, batch_size, lr, lr_grid, tokens: {seed: n}},
      differs: {item: {job: value}}}]
    """
    groups: dict[str, list[dict]] = {}
    for j in jobs:
        if (j.get("train") or {}).get("steps") is None:  # a pretrained checkpoint: not trained here
            continue
        key = f"{j['model']['family']}:{j['model']['size']}" + (f"[{j['context']}]" if j.get("context") else "")
        groups.setdefault(key, []).append(j)
    out = []
    for key, js in groups.items():
        per = {j["name"]: _budget(j) for j in js}
        shared, differs = {}, {}
        for item in BUDGET:
            values = {n: b[item] for n, b in per.items()}
            if len({repr(v) for v in values.values()}) == 1:
                shared[item] = next(iter(values.values()))
            else:
                differs[item] = values
        tokens: dict[str, dict[str, int]] = {}
        for j in js:
            tokens.setdefault(str(j["seed"]), {})[j["name"]] = per[j["name"]]["tokens"]
        shared["tokens"] = {}
        for seed, values in tokens.items():
            if len(set(values.values())) == 1:
                shared["tokens"][seed] = next(iter(values.values()))
            else:
                differs[f"tokens (seed {seed})"] = values
        out.append({"comparison": key, "jobs": [j["name"] for j in js], "shared": shared, "differs": differs})
    return out
