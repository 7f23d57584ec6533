"""Export a suite as lm-eval tasks (YAML + `custom_dataset`) whose docs are exactly the harness's test examples.

    hybrid-eval-export-lm-eval OUT_DIR suite=quick [n_test=200] [seed=1234] [max_new_tokens=16] [tokenizer=DIR]
    lm_eval --model hf --model_args pretrained=CKPT,tokenizer=CKPT,add_bos_token=False \\
        --include_path OUT_DIR --tasks hybrid_eval_quick

Writes into OUT_DIR, for each task of the suite (by alias):
    <alias>.jsonl   the docs: one per test example, the harness's test split (`tasks.data.load_splits`, same
                    suite seed and n_test; the test split is drawn first, so train/validation sizes cannot change it)
    <alias>.yaml    an lm-eval `generate_until` task `hybrid_eval_<suite>_<alias>`: greedy, stop at `<|end|>`,
                    at most `max_new_tokens` tokens (conf/eval/default.yaml), scored by the task's own scorer
and `_group.yaml` (group `hybrid_eval_<suite>`, the unweighted mean of the task scores), `hybrid_eval_bridge.py`
(the `!function` hooks, which import `harness.evaluate.lm_eval_bridge`) and `export.json` (what was exported, and how).

Prompts are pre-rendered with a chat template and lm-eval is run without `--apply_chat_template`, so the
model sees the same token ids as in `harness.evaluate.scoring`: the probe template by default, or the template of
`tokenizer=DIR` (a pretrained model's own). Single-turn examples are one doc; a multi-turn example is one doc per
scored turn, each with the gold earlier turns as history (the harness's teacher-forced mode), and the task's
`score` is aggregated per example (`harness.evaluate.lm_eval_bridge.aggregate`): the same number as the harness's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from omegaconf import OmegaConf

from hybrid_eval import config_dir
from hybrid_eval.harness.evaluate.lm_eval_bridge import METRIC, TURN_METRIC
from hybrid_eval.models.tokenizer import CHAT_TEMPLATE, END, build_probe_tokenizer
from hybrid_eval.tasks.base import TaskConfigError
from hybrid_eval.tasks.data import Suite, answer_budgets, load_splits



CONF = config_dir()
BRIDGE = "hybrid_eval_bridge"
ARGS = ("suite", "n_test", "seed", "max_new_tokens", "tokenizer")

BRIDGE_SOURCE = '''"""Written by `hybrid-eval-export-lm-eval`: lm-eval's `!function` hooks for the tasks in this folder."""
from pathlib import Path

from hybrid_eval.harness.evaluate import lm_eval_bridge

HERE = Path(__file__).resolve().parent


def load_docs(data_file, **_):
    """custom_dataset: lm-eval passes the task's dataset_kwargs and metadata; only `data_file` is used."""
    return lm_eval_bridge.load_docs(HERE / data_file)


process_results = lm_eval_bridge.process_results
aggregate = lm_eval_bridge.aggregate
'''


def suite_config(name_or_path: str, seed: int | None = None):
    """conf/suite/<name>.yaml (or a YAML path) as an OmegaConf node, with `seed` overriding `suite.seed`."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONF / "suite" / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (CONF / "suite").glob("*.yaml")))
        raise TaskConfigError(f"suite={name_or_path!r}: no such suite; accepted: {known}, or a path to a suite .yaml")
    cfg = OmegaConf.load(path)
    if seed is not None:
        cfg.seed = int(seed)
    return cfg


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The chat-rendered history with the generation prompt, as text (what `chat_ids` tokenizes)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def docs_for(task, examples: list[dict], tokenizer, include: list[str]) -> list[dict]:
    spec = json.dumps({"name": task.name, "alias": task.alias, "knobs": task.knob_dict(), "include": include}, sort_keys=True)
    docs = []
    for ex in examples:
        for turn in ex["scored_turns"]:  # one doc per scored turn, the gold transcript before it as history
            docs.append({
                "id": ex["id"],
                "prompt": render_prompt(tokenizer, ex["messages"][:turn]),
                "target": ex["messages"][turn]["content"],
                "turn": turn,
                "example": json.dumps(ex, sort_keys=True),
                "task_spec": spec,
            })
    return docs


def task_yaml(task_name: str, data_file: str, stop: str, max_new_tokens: int, version: int) -> str:
    q = json.dumps  # a JSON string is a valid YAML scalar
    return f"""# Written by `hybrid-eval-export-lm-eval`; docs are the harness's test examples ({data_file}).
task: {task_name}
custom_dataset: !function {BRIDGE}.load_docs
dataset_kwargs:
  data_file: {q(data_file)}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: "{{{{target}}}}"
target_delimiter: ""
num_fewshot: 0
generation_kwargs:
  until: [{q(stop)}]
  max_gen_toks: {int(max_new_tokens)}
  do_sample: false
process_results: !function {BRIDGE}.process_results
metric_list:
  - metric: {METRIC}
    aggregation: !function {BRIDGE}.aggregate
    higher_is_better: true
  - metric: {TURN_METRIC}
    aggregation: mean
    higher_is_better: true
metadata:
  version: {int(version)}
"""


def group_yaml(group: str, task_names: list[str]) -> str:
    tasks = "".join(f"  - {n}\n" for n in task_names)
    return f"""# Written by `hybrid-eval-export-lm-eval`: the suite as one lm-eval group (mean of task scores).
group: {group}
task:
{tasks}aggregate_metric_list:
  - metric: {METRIC}
    aggregation: mean
    weight_by_size: false
metadata:
  version: 1
"""


def export(out_dir: str | Path, suite_cfg, n_test: int, max_new_tokens: int, tokenizer=None, name: str | None = None) -> dict:
    """Write the suite's lm-eval tasks into `out_dir`; returns the manifest written to export.json. `name` overrides
    the suite's name (a run exporting some of its tasks keeps its own suite's name)."""
    if int(n_test) <= 0:
        raise TaskConfigError(f"n_test={n_test}; accepted: a positive number of test examples per task")
    suite = Suite.from_config(suite_cfg)
    if name is not None:
        suite.name = str(name)
    tokenizer = tokenizer if tokenizer is not None else build_probe_tokenizer([])  # the template needs no vocabulary
    stop = tokenizer.eos_token or END
    include = [str(Path(s).resolve()) if Path(s).is_file() else str(s) for s in suite_cfg.get("include", None) or []]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{BRIDGE}.py").write_text(BRIDGE_SOURCE)
    task_names, manifest_tasks = [], {}
    for task in suite.tasks:
        # test is drawn first (tasks.data.SPLIT_ORDER): the harness's train/validation sizes cannot change it
        examples = load_splits(task, {"test": int(n_test)}, seed=int(suite_cfg.seed), cache_dir=None)["test"]
        budget = answer_budgets(tokenizer, {task.alias: examples}, max_new_tokens)[task.alias]  # as harness/evaluate/scoring.py
        docs = docs_for(task, examples, tokenizer, include)
        with (out / f"{task.alias}.jsonl").open("w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, sort_keys=True) + "\n")
        name = f"hybrid_eval_{suite.name}_{task.alias}"
        (out / f"{task.alias}.yaml").write_text(task_yaml(name, f"{task.alias}.jsonl", stop, budget, task.version))
        task_names.append(name)
        manifest_tasks[name] = {"task": task.name, "alias": task.alias, "category": task.category, "knobs": task.knob_dict(),
                                "n": len(examples), "docs": len(docs), "max_new_tokens": budget,
                                "multi_turn": any(len(e["scored_turns"]) > 1 for e in examples)}
    group = f"hybrid_eval_{suite.name}"
    (out / "_group.yaml").write_text(group_yaml(group, task_names))
    manifest = {"group": group, "suite": suite.name, "seed": int(suite_cfg.seed), "n_test": int(n_test),
                "max_new_tokens": int(max_new_tokens), "stop": stop,
                "chat_template": "probe" if tokenizer.chat_template == CHAT_TEMPLATE else tokenizer.name_or_path,
                "tasks": manifest_tasks}
    (out / "export.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def parse_args(argv: list[str]) -> tuple[str, dict[str, str]]:
    positional = [a for a in argv if "=" not in a]
    if len(positional) != 1:
        raise TaskConfigError("usage: hybrid-eval-export-lm-eval OUT_DIR suite=NAME [n_test=N] [seed=S] "
                              "[max_new_tokens=N] [tokenizer=DIR]")
    kv = dict(a.split("=", 1) for a in argv if "=" in a)
    unknown = sorted(set(kv) - set(ARGS))
    if unknown:
        raise TaskConfigError(f"unknown argument {unknown[0]!r}; accepted: {', '.join(ARGS)}")
    if "suite" not in kv:
        raise TaskConfigError("suite= is required: a name under conf/suite (e.g. suite=quick) or a suite .yaml path")
    for k in ("n_test", "seed", "max_new_tokens"):
        if k in kv and not kv[k].lstrip("-").isdigit():
            raise TaskConfigError(f"{k}={kv[k]!r}; accepted: an integer")
    return positional[0], kv


def main(argv: list[str] | None = None) -> dict:
    out_dir, kv = parse_args(sys.argv[1:] if argv is None else argv)
    eval_cfg = OmegaConf.load(CONF / "eval" / "default.yaml")
    seed = int(kv["seed"]) if "seed" in kv else None
    tokenizer = None
    if "tokenizer" in kv:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(kv["tokenizer"])
        if not tokenizer.chat_template:
            raise TaskConfigError(f"tokenizer={kv['tokenizer']!r} has no chat template; give a chat model's tokenizer directory")
    manifest = export(out_dir, suite_config(kv["suite"], seed), int(kv.get("n_test", eval_cfg.n_test)),
                      int(kv.get("max_new_tokens", eval_cfg.max_new_tokens)), tokenizer)
    n = sum(t["docs"] for t in manifest["tasks"].values())
    print(f"wrote {len(manifest['tasks'])} tasks ({n} docs) and group {manifest['group']} to {out_dir}")
    return manifest


def cli() -> int:
    """`hybrid-eval-export-lm-eval`: a bad argument is one line on stderr and exit code 2."""
    try:
        main()
    except TaskConfigError as e:
        print(f"hybrid-eval-export-lm-eval: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
