"""lm-eval in the same run: `eval.lm_eval_tasks=[...]` runs lm-eval tasks on the job's own model (in memory,
through lm-eval's HFLM) and merges their per-example scores into results.json, samples.jsonl and the gap tables.

Entries of `eval.lm_eval_tasks`:
    harness:ALIAS   the suite task ALIAS, exported by `harness.evaluate.lm_eval_export` into <job>/lm_eval_tasks/ and run as
                    lm-eval task `hybrid_eval_<suite>_<alias>`: the harness's own test examples (eval.n_test), the
                    model's chat template, the task's scorer (a multi-turn task: one doc per scored turn with the gold
                    history, scored per example as the harness's teacher-forced mode scores it)
    NAME            an lm-eval task, group or tag (or a task YAML path), looked up in `eval.lm_eval_include`
                    directories first, then in lm-eval's registry. Nothing is downloaded (HF offline mode): its
                    data must already be on this machine (HF datasets cache, or local files named by the YAML).

Every entry is checked before data generation and training (`plan`): unknown names, aliases not in the suite,
missing include directories and registry tasks whose data is not local end in one ConfigError line.

Results: each lm-eval leaf task becomes a task `lm_eval/<lm-eval task name>` of category `lm_eval` in
results.json ("score" is the per-example mean of its metric, with the harness's bootstrap interval) and one
record per doc in samples.jsonl, keyed so that `harness.analysis.gaps` pairs docs across variants: a harness export by
the example's id and content hash (the same keys as the harness's own records), any other task by lm-eval's
doc_id and doc_hash. The metric is the task's first one (in its metric_list, first filter) that lm-eval
aggregates by mean, with higher better and a number per doc; other metrics are kept in
results["lm_eval"]["tasks"][name]["metrics"]. results["lm_eval"] also holds lm-eval's version, each task's
config hash and version, the model's max length and what ran; lm-eval's own results (without samples) are
written to <job>/lm_eval.json.

The model runs as `HFLM(pretrained=model, tokenizer=tokenizer, max_length=..., batch_size=eval.batch_size)`:
the probe's word-level tokenizer or the pretrained checkpoint's own, max_length from the model config
(`max_position_embeddings`). Greedy generation inside HFLM is the harness's decoder (`hflm` says why);
log-likelihood requests are lm-eval's own. Exported prompts are pre-rendered with the chat template, so they
run with add_bos_token=False (the same ids as `harness.evaluate.scoring`, tests/harness/evaluate/test_lm_eval_export.py); other
tasks use lm-eval's default (the tokenizer's own).
"""
from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import numbers
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_eval.harness.analysis import stats
from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError
from hybrid_eval.harness.evaluate.lm_eval_bridge import METRIC
from hybrid_eval.tasks.base import example_hash

log = logging.getLogger(__name__)

HARNESS = "harness:"        # entry prefix of an exported suite task
KEY = "lm_eval/"            # results.json / samples.jsonl task namespace
CATEGORY = "lm_eval"
EXPORT_DIR = "lm_eval_tasks"
RAW = "lm_eval.json"
ACCEPTED = ("accepted: harness:ALIAS (a task of the suite), an lm-eval task, group or tag name, "
            "or a task YAML path")


@dataclass
class Plan:
    """What `eval.lm_eval_tasks` asks for, checked: suite aliases to export and loaded lm-eval tasks/groups."""

    aliases: list[str] = field(default_factory=list)        # harness:ALIAS entries, in order
    names: list[str] = field(default_factory=list)          # other entries, in order
    include: list[str] = field(default_factory=list)        # eval.lm_eval_include, absolute
    loaded: list = field(default_factory=list)              # (entry, lm-eval Task or Group) for `names`
    task_manager: object = None

    def __bool__(self) -> bool:
        return bool(self.aliases or self.names)


# ---------------------------------------------------------------- checking the config (before any work)

def _entries(cfg) -> list[str]:
    raw = cfg.get("lm_eval_tasks", None)
    if raw is None:
        return []
    if isinstance(raw, str) or hasattr(raw, "keys") or not hasattr(raw, "__iter__"):
        raise ConfigError(f"eval.lm_eval_tasks={raw!r}; accepted: a list, e.g. eval.lm_eval_tasks=[harness:mqar]")
    out = []
    for e in raw:
        if not isinstance(e, str) or not e.strip():
            raise ConfigError(f"eval.lm_eval_tasks entry {e!r}; {ACCEPTED}")
        out.append(e.strip())
    dupes = sorted({e for e in out if out.count(e) > 1})
    if dupes:
        raise ConfigError(f"eval.lm_eval_tasks lists {dupes[0]!r} twice; list each task once")
    return out


def _include_dirs(cfg) -> list[str]:
    raw = cfg.get("lm_eval_include", None)
    if raw is None:
        return []
    dirs = [raw] if isinstance(raw, str) else list(raw)
    out = []
    for d in dirs:
        p = Path(str(d)).expanduser()
        if not p.is_dir():
            raise ConfigError(f"eval.lm_eval_include={str(d)!r} is not a directory; accepted: directories of lm-eval task YAMLs")
        out.append(str(p.resolve()))
    return out


def _limit(cfg):
    limit = cfg.get("lm_eval_limit", None)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"eval.lm_eval_limit={limit!r}; accepted: null (every doc) or an integer >= 1")
    return limit


@contextmanager
def offline():
    """HF hub and datasets offline while lm-eval loads tasks: data comes from the local cache or nowhere
    (without this a missing dataset retries the network for ~30 s before failing)."""
    import datasets.config
    import huggingface_hub.constants as hub

    saved = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE = saved


def _one_line(e: BaseException, width: int = 300) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= width else text[: width - 3] + "..."


def _task_manager(include: list[str], names: list[str]):
    """lm-eval's TaskManager over the include dirs; lm-eval's own registry is indexed (about 7 s) only when a
    name is not found there."""
    from lm_eval.tasks import TaskManager

    def known(tm, n):
        return n in tm.task_index or (n.endswith((".yaml", ".yml")) and Path(n).is_file())

    tm = TaskManager(include_path=include or None, include_defaults=False)
    if all(known(tm, n) for n in names):
        return tm, []
    tm = TaskManager(include_path=include or None, include_defaults=True)
    return tm, [n for n in names if not known(tm, n)]


def plan(cfg, suite, endpoint=None) -> Plan:
    """Check `eval.lm_eval_tasks` / `eval.lm_eval_include` / `eval.lm_eval_limit` against the suite and
    lm-eval, and load every non-harness task (its data must be local). Raises ConfigError (one line).
    `endpoint`: the `model` config of `model=endpoint` (its checks: `_check_endpoint`)."""
    entries = _entries(cfg)
    include = _include_dirs(cfg)
    _limit(cfg)
    if not entries:
        return Plan(include=include)
    aliases = [t.alias for t in suite.tasks]
    p = Plan(include=include)
    for e in entries:
        if e.startswith(HARNESS):
            alias = e[len(HARNESS):]
            if alias not in aliases:
                raise ConfigError(f"eval.lm_eval_tasks: {e!r} names no task of suite '{suite.name}'; "
                                  f"accepted: {', '.join(HARNESS + a for a in aliases)}")
            p.aliases.append(alias)
        else:
            p.names.append(e)
    try:
        import lm_eval  # noqa: F401
        from lm_eval.models.huggingface import HFLM  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"eval.lm_eval_tasks needs lm-eval with its HF backend ({_one_line(err)}); "
                          "install it with `pip install lm-eval` or leave eval.lm_eval_tasks empty") from None
    if p.names:
        tm, unknown = _task_manager(include, p.names)
        if unknown:
            n = unknown[0]
            close = difflib.get_close_matches(n, tm.all_tasks, n=3)
            hint = f" (close: {', '.join(close)})" if close else ""
            where = f"eval.lm_eval_include ({', '.join(include)}) or " if include else ""
            raise ConfigError(f"eval.lm_eval_tasks: {n!r} is not a task, group or tag in {where}lm-eval's registry{hint}; {ACCEPTED}")
        p.task_manager = tm
        for n in p.names:
            p.loaded += [(n, obj) for obj in _load(tm, n)]
    if endpoint is not None:
        _check_endpoint(p, endpoint)
    return p


def _check_endpoint(p: Plan, endpoint) -> None:
    """Through an endpoint (docs/endpoints.md): lm-eval tasks run on `local-chat-completions`, which generates only
    (no log-likelihoods); harness exports are pre-rendered with `model.tokenizer`'s chat template and sent to
    `local-completions` (/v1/completions), so they need that tokenizer. lm-eval's API models need `lm-eval[api]`."""
    try:
        import tenacity  # noqa: F401
        import aiohttp  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"eval.lm_eval_tasks through model=endpoint needs lm-eval's API models ({_one_line(err)}); "
                          "install them with `pip install 'lm-eval[api]'`") from None
    if p.aliases and not endpoint.get("tokenizer"):
        raise ConfigError(f"eval.lm_eval_tasks: {HARNESS}{p.aliases[0]} through model=endpoint renders the prompt with "
                          "the served model's chat template; accepted: set model.tokenizer=DIR (its tokenizer files)")
    for entry, obj in p.loaded:
        for t in (obj.get_all_tasks() if hasattr(obj, "get_all_tasks") else [obj]):
            if t.OUTPUT_TYPE != "generate_until":
                raise ConfigError(f"eval.lm_eval_tasks: {entry!r} ({t.task_name}) is a {t.OUTPUT_TYPE} task; through "
                                  "model=endpoint lm-eval runs local-chat-completions, which only generates; accepted: "
                                  "generate_until tasks (or evaluate the checkpoint with model=pretrained)")


def _load(tm, name: str) -> list:
    """The top-level lm-eval objects for one name: its Group, or its Task(s) (a tag gives several)."""
    try:
        with offline():
            loaded = tm.load([name])
    except Exception as err:  # lm-eval and datasets raise many kinds; the user's fix is the same
        raise ConfigError(f"eval.lm_eval_tasks: {name!r} could not be loaded without network ({_one_line(err)}); "
                          "its data must be local: in the HF datasets cache, or files named by a task YAML under "
                          "eval.lm_eval_include") from None
    groups = loaded.get("groups") or {}
    return [groups[name]] if name in groups else list(loaded["tasks"].values())


# ---------------------------------------------------------------- running lm-eval on the job's model

def max_length(model, tokenizer) -> int | None:
    """The longest sequence the model takes: its config's position limit, else the tokenizer's (when set)."""
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        n = getattr(model.config, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    n = getattr(tokenizer, "model_max_length", None)
    return n if isinstance(n, int) and 0 < n < 1 << 30 else None


def _export(p: Plan, tokenizer, cfg, job_dir: Path, data: dict, suite_name: str) -> tuple[list[str], dict]:
    """Export the harness entries' suite tasks into <job>/lm_eval_tasks (harness/evaluate/lm_eval_export.py), rendered with
    `tokenizer`'s chat template; returns their lm-eval task names (in entry order) and the export manifest."""
    from omegaconf import OmegaConf

    from hybrid_eval.harness.evaluate.lm_eval_export import export

    suite_cfg = OmegaConf.to_container(cfg.suite, resolve=True)
    alias = lambda e: e if isinstance(e, str) else str(e.get("alias") or e["name"])  # noqa: E731  (as tasks.data.Suite)
    suite_cfg["tasks"] = [e for e in suite_cfg["tasks"] if alias(e) in p.aliases]
    out = job_dir / EXPORT_DIR
    manifest = export(out, OmegaConf.create(suite_cfg), n_test=int(cfg.eval.n_test),
                      max_new_tokens=int(cfg.eval.max_new_tokens), tokenizer=tokenizer, name=suite_name)
    for a in p.aliases:  # the export draws the run's test split again: a mismatch would be our bug
        if list(dict.fromkeys(d["id"] for d in store.read_jsonl(out / f"{a}.jsonl"))) != [e["id"] for e in data[a]["test"]]:
            raise RuntimeError(f"lm-eval export of {a!r} does not hold the run's test examples")
    by_alias = {v["alias"]: name for name, v in manifest["tasks"].items()}
    return [by_alias[a] for a in p.aliases], manifest


def _plain(x):
    """JSON-safe copy of lm-eval response values (tuples, numpy numbers)."""
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def config_hash(config: dict) -> str:
    """sha256 (16 hex) of lm-eval's task config, without the path it was read from (which names the job dir)."""
    c = dict(config)
    c["metadata"] = {k: v for k, v in (c.get("metadata") or {}).items() if k != "config_source"}
    return hashlib.sha256(json.dumps(c, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real)  # bools and numpy numbers included


def pick_metric(task, samples: list[dict]) -> tuple[str, str] | None:
    """(metric, filter) that gives a per-doc score: mean-aggregated, higher is better, a number for every doc."""
    from lm_eval.api.metrics import mean

    if not samples:
        return None
    filt = samples[0]["filter"]
    rows = [s for s in samples if s["filter"] == filt]
    config = getattr(task, "config", None)
    listed = [m["metric"] for m in (getattr(config, "metric_list", None) or []) if isinstance(m.get("metric"), str)]
    order = listed + [m for m in samples[0]["metrics"] if m not in listed]
    agg, hib = task.aggregation(), task.higher_is_better()
    for m in order:
        if agg.get(m) is mean and hib.get(m, True) and all(_is_number(r.get(m)) for r in rows):
            return m, filt
    return None


def _chance(task, rows: list[dict], metric: str):
    """1 / number of choices for multiple-choice accuracy; unknown (None) otherwise."""
    if task.OUTPUT_TYPE == "multiple_choice" and metric in ("acc", "acc_norm"):
        return sum(1 / len(r["arguments"]) for r in rows) / len(rows)
    return None


def _record(key: str, s: dict, metric: str, generated: bool) -> dict:
    """The record of one doc of a task that is not an export, keyed by lm-eval's doc id and doc hash."""
    ex_id, phash = str(s["doc_id"]), s["doc_hash"][:16]
    resps = s["filtered_resps"]
    return {
        "task": key,
        "id": ex_id,
        "prompt_hash": phash,
        "outputs": [str(r) for r in resps] if generated else [json.dumps(_plain(resps))],
        "golds": [str(t) for t in s["target"]] if isinstance(s["target"], list) else [str(s["target"])],
        "score": float(s[metric]),
        "mode": "lm_eval",
        "lm_eval": {"doc_id": s["doc_id"], "filter": s["filter"], "metric": metric,
                    "metrics": {m: _plain(s[m]) for m in s["metrics"]}},
    }


def _example_records(key: str, rows: list[dict]) -> list[dict]:
    """Records of an exported task (one doc per scored turn) as the harness writes them: one per example, keyed by
    its id and content hash, outputs and turn scores in turn order, score = `task.score` (lm_eval_bridge)."""
    from hybrid_eval.harness.evaluate.lm_eval_bridge import per_example, score_doc

    by_id: dict[str, list[dict]] = {}
    for s in rows:
        by_id.setdefault(s["doc"]["id"], []).append(s)
    scores = per_example([s[METRIC] for s in rows])
    out = []
    for ex_id, turns in by_id.items():
        turns.sort(key=lambda s: int(s["doc"]["turn"]))
        outputs = [str(s["filtered_resps"][0]).strip() for s in turns]
        out.append({
            "task": key,
            "id": ex_id,
            "prompt_hash": example_hash(json.loads(turns[0]["doc"]["example"]))[:16],
            "outputs": outputs,
            "golds": [s["doc"]["target"] for s in turns],
            "score": scores[ex_id],
            "turn_scores": [score_doc(s["doc"], o) for s, o in zip(turns, outputs)],
            "mode": "lm_eval",
            "lm_eval": {"doc_ids": [s["doc_id"] for s in turns], "filter": turns[0]["filter"], "metric": METRIC},
        })
    return out


def hflm(model, tokenizer, **kwargs):
    """lm-eval's HFLM on the in-memory `model`, whose greedy generation is the harness's own batched decoder
    (harness/decode/greedy.py). transformers' `generate()` builds a DynamicCache that an all-linear model cannot use
    (`get_seq_length` raises: no attention layer), while the harness's decoder has a cache for every family and
    pattern (models/cache.py) and is tested batch-size invariant. lm-eval still tokenizes, left-pads and
    truncates the prompts, decodes and cuts the output at the task's stop strings; the decoder stops at the
    end-of-sequence ids and at single-token stop strings (any other stop string is cut afterwards, as lm-eval
    does). Sampling (do_sample, temperature > 0, beams) and log-likelihood requests are lm-eval's own."""
    import torch
    from lm_eval.models.huggingface import HFLM

    from hybrid_eval.harness.decode.greedy import greedy

    class HarnessHFLM(HFLM):
        def _model_generate(self, context, max_length, stop, **gen):
            if gen.get("do_sample") or float(gen.get("temperature") or 0.0) > 0 or int(gen.get("num_beams") or 1) > 1:
                return super()._model_generate(context, max_length, stop, **gen)
            mask = gen.get("attention_mask")
            rows = context.tolist() if mask is None else [r[m.bool()].tolist() for r, m in zip(context, mask)]
            eos = self.model.generation_config.eos_token_id if self.model.generation_config is not None else None
            stop_ids = {self.tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
            for s in stop:
                ids = self.tokenizer.encode(s, add_special_tokens=False)
                if len(ids) == 1:
                    stop_ids.add(ids[0])
            pad = self.tokenizer.pad_token_id
            outs = greedy(self.model, rows, max_new_tokens=max_length - context.shape[1], stop_ids=stop_ids, pad_id=pad,
                          batch_size=len(rows))
            width = max((len(o) for o in outs), default=0)
            cont = torch.full((len(outs), width), pad, dtype=context.dtype, device=context.device)
            for i, o in enumerate(outs):
                cont[i, : len(o)] = torch.tensor(o, dtype=context.dtype)
            return torch.cat([context, cont], 1)  # lm-eval drops the context columns

    return HarnessHFLM(pretrained=model, tokenizer=tokenizer, **kwargs)


def _evaluate(lm, objs: list, tm, limit=None, chat: bool = False) -> dict:
    """lm-eval's simple_evaluate with per-doc samples; stderr by bootstrap is left to the harness (bootstrap_iters=0).
    `chat`: the docs go to a chat-completions endpoint as messages (lm-eval's apply_chat_template)."""
    import lm_eval

    with offline():
        return lm_eval.simple_evaluate(model=lm, tasks=objs, task_manager=tm, log_samples=True, limit=limit,
                                       bootstrap_iters=0, apply_chat_template=chat)


def endpoint_lm(endpoint, chat: bool):
    """lm-eval's `local-chat-completions` (chat) or `local-completions` model on `model=endpoint`'s server: the
    same base URL, served name, concurrency, retries and timeout; the API key is read from `model.api_key_env` by
    the `api_key` property, so it is never one of lm-eval's recorded model arguments."""
    from lm_eval.models.openai_completions import LocalChatCompletion, LocalCompletionsAPI

    from hybrid_eval.models.endpoint import api_key

    base = LocalChatCompletion if chat else LocalCompletionsAPI

    class EndpointLM(base):
        @property
        def api_key(self):
            return api_key(endpoint) or ""

    route = "chat/completions" if chat else "completions"
    return EndpointLM(base_url=f"{str(endpoint.base_url).rstrip('/')}/{route}", model=str(endpoint.name),
                      tokenizer_backend=None, tokenized_requests=False,
                      num_concurrent=int(endpoint.get("concurrency", 8)), max_retries=int(endpoint.get("max_retries", 5)),
                      timeout=int(float(endpoint.get("timeout_s", 120))))


def run(p: Plan, model, tokenizer, cfg, suite, job_dir, data: dict, records: list, tasks: dict, categories: dict,
        endpoint=None) -> dict:
    """Run the plan on `model` and merge: appends to `records` (samples.jsonl), adds `lm_eval/<task>` entries to
    `tasks` and the `lm_eval` category to `categories` ({"scores", "ci95"}, as `harness.run.summarize` gives them).
    Returns results["lm_eval"]: version, what ran, each task's metric, config hash and lm-eval's own numbers.
    With `endpoint` (model=endpoint's config; `model` is None) the requests go to its server (`endpoint_lm`)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    t0 = time.time()
    job_dir = Path(job_dir)
    max_len = max_length(model, tokenizer) if model is not None else None
    batch = int(cfg.eval.batch_size)
    runs, raw = [], {}  # (lm-eval results, [(entry, Task or Group)], exported?)
    manifest = None
    if p.aliases:  # pre-rendered chat prompts: no BOS added, as harness.evaluate.scoring's chat_ids
        names, manifest = _export(p, tokenizer, cfg, job_dir, data, suite.name)
        tm = TaskManager(include_path=str(job_dir / EXPORT_DIR), include_defaults=False)
        with offline():
            objs = [(HARNESS + a, tm.load([n])["tasks"][n]) for a, n in zip(p.aliases, names)]
        lm = (endpoint_lm(endpoint, chat=False) if endpoint is not None  # the rendered prompt to /v1/completions
              else hflm(model, tokenizer, max_length=max_len, batch_size=batch, add_bos_token=False))
        runs.append((_evaluate(lm, [o for _, o in objs], tm), objs, True))
    if p.names:  # lm-eval's default BOS handling (the tokenizer's own)
        lm = (endpoint_lm(endpoint, chat=True) if endpoint is not None  # the docs as chat messages
              else hflm(model, tokenizer, max_length=max_len, batch_size=batch))
        limit = cfg.eval.get("lm_eval_limit", None)
        runs.append((_evaluate(lm, [o for _, o in p.loaded], p.task_manager, limit, chat=endpoint is not None),
                     p.loaded, False))

    info = {"version": lm_eval.__version__, "entries": [HARNESS + a for a in p.aliases] + list(p.names),
            "include": p.include, "max_length": max_len, "batch_size": batch, "limit": cfg.eval.get("lm_eval_limit", None),
            **({"model": {"harness": "local-completions", "other": "local-chat-completions",
                          "base_url": str(endpoint.base_url), "name": str(endpoint.name)}} if endpoint is not None else {}),
            "tasks": {}, "groups": {}}
    group_scores = []
    for res, objs, exported in runs:
        leaves = {}  # leaf task name -> (entry it came from, Task), in entry order
        for e, o in objs:
            for t in (o.get_all_tasks() if hasattr(o, "get_all_tasks") else [o]):
                leaves.setdefault(t.task_name, (e, t))
        for name, (e, task) in leaves.items():
            samples = res["samples"].get(name, [])
            entry = {"entry": e,
                     "version": res["versions"].get(name), "config_hash": config_hash(res["configs"][name]),
                     "output_type": task.OUTPUT_TYPE, "n_shot": res["n-shot"].get(name),
                     "n": len({s["doc_id"] for s in samples}),
                     "add_bos_token": False if exported else None,
                     "metrics": {k: v for k, v in res["results"][name].items() if k not in ("name", "alias", "sample_len")}}
            if exported:
                entry["docs_sha256"] = hashlib.sha256((job_dir / EXPORT_DIR / f"{manifest['tasks'][name]['alias']}.jsonl")
                                                      .read_bytes()).hexdigest()[:16]
            chosen = (METRIC, samples[0]["filter"]) if exported and samples else pick_metric(task, samples)
            if chosen is None:
                entry["note"] = "no mean-aggregated, higher-is-better per-doc metric: kept here, not in tasks or gaps"
                info["tasks"][name] = entry
                continue
            metric, filt = chosen
            rows = sorted((s for s in samples if s["filter"] == filt), key=lambda s: s["doc_id"])
            key = KEY + name
            recs = (_example_records(key, rows) if exported  # one record per example, its turns in order
                    else [_record(key, s, metric, task.OUTPUT_TYPE == "generate_until") for s in rows])
            scores = [r["score"] for r in recs]
            est, lo, hi = stats.mean_ci([scores])
            lm_score = res["results"][name].get(f"{metric},{filt}")
            if lm_score is not None and not math.isclose(est, float(lm_score), rel_tol=1e-9, abs_tol=1e-12):
                log.warning("lm-eval %s: the mean of per-doc %s is %s but lm-eval reports %s", name, metric, est, lm_score)
            if exported:  # the suite task's levels: a gap against a baseline below them is withheld (analysis/learned.py)
                st = suite.task(manifest["tasks"][name]["alias"])
                knobs, chance, guess = st.knob_dict(), st.chance(), st.context_guess()
            else:
                knobs, chance, guess = {}, _chance(task, rows, metric), None
            tasks[key] = {"task": key, "category": CATEGORY, "score": est, "ci95": [lo, hi], "n": len(scores),
                          "chance": chance, "context_guess": guess, "knobs": knobs, "metric": f"{metric},{filt}", "lm_eval_task": name,
                          "lm_eval_score": _plain(lm_score)}
            records.extend(recs)
            group_scores.append(scores)
            info["tasks"][name] = entry | {"metric": metric, "filter": filt, "key": key}
        for g, metrics in (res.get("groups") or {}).items():
            info["groups"][g] = {k: v for k, v in metrics.items() if k not in ("name", "alias", "sample_len")}
        raw_res = {k: v for k, v in res.items() if k != "samples"}
        raw["harness" if exported else "lm_eval"] = raw_res
    if group_scores:
        est, lo, hi = stats.mean_ci(group_scores)
        categories["scores"][CATEGORY] = est
        categories["ci95"][CATEGORY] = [lo, hi]
    store.write_text(job_dir / RAW, json.dumps(_plain(raw), indent=1, default=str) + "\n")
    info["seconds"] = round(time.time() - t0, 2)
    log.info("lm-eval: %s", {k: round(v["score"], 3) for k, v in tasks.items() if k.startswith(KEY)})
    return info
