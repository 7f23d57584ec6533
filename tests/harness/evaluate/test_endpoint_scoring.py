"""model=endpoint against a real server (`hybrid-eval-serve` on a trained tiny probe, a subprocess on 127.0.0.1):
the same outputs and scores as the in-process path on the same checkpoint and examples (greedy, exact), in every
multi-turn mode; a server that dies mid-run loses nothing and the rerun asks only the missing requests; a rerun
costs zero requests; a rejected request is a scored-0 error record; the API key appears in no file or log."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid_eval.harness.decode.endpoint import ChatClient
from hybrid_eval.harness.errors import EndpointError
from hybrid_eval.harness.evaluate.endpoint_scoring import evaluate_endpoint
from hybrid_eval.harness.evaluate.scoring import evaluate
from hybrid_eval.harness.run import run_job
from hybrid_eval.models import load_pretrained
from hybrid_eval.tasks.data import answer_budgets
from hybrid_eval.tasks.multi_turn.tool_episode import ToolEpisode
from tests.harness.serving import Server, config


@pytest.fixture(scope="module")
def server(probe_checkpoint):
    with Server(probe_checkpoint) as s:
        yield s


def endpoint_job(url, ckpt, cache, *over):
    return config("model=endpoint", f"model.base_url={url}", "model.name=probe", f"model.tokenizer={ckpt}",
                  f"model.cache_dir={cache}", "model.backoff_s=0.01", *over)


def samples(job_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (job_dir / "samples.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("mode", ["teacher_forced", "interactive"])
def test_scores_through_the_endpoint_equal_the_in_process_scores(mode, server, probe_checkpoint, tmp_path):
    local = run_job(config("model=pretrained", f"model.path={probe_checkpoint}", f"eval.multi_turn={mode}"),
                    tmp_path / "local")
    remote = run_job(endpoint_job(server.url, probe_checkpoint, tmp_path / "cache", f"eval.multi_turn={mode}"),
                     tmp_path / "remote")
    a, b = samples(tmp_path / "local"), samples(tmp_path / "remote")
    assert [(r["task"], r["id"], r["prompt_hash"]) for r in a] == [(r["task"], r["id"], r["prompt_hash"]) for r in b]
    assert [r["outputs"] for r in a] == [r["outputs"] for r in b]
    assert [r["score"] for r in a] == [r["score"] for r in b]
    assert [r.get("transcript") for r in a] == [r.get("transcript") for r in b]
    assert any(o for r in a for o in r["outputs"])  # something was generated to compare
    assert {t: v["score"] for t, v in local["tasks"].items()} == {t: v["score"] for t, v in remote["tasks"].items()}
    assert {t: v["max_new_tokens"] for t, v in local["tasks"].items()} == {
        t: v["max_new_tokens"] for t, v in remote["tasks"].items()}
    ep = remote["endpoint"]
    n_requests = sum(len(r["golds"]) for r in b)
    assert ep["errors"] == 0 and ep["sent"] == ep["requests"] == n_requests and ep["cached"] == 0
    assert ep["usage"]["completion_tokens"] > 0 and 0 < ep["latency_s"]["p50"] <= ep["latency_s"]["p95"]
    assert remote["model"]["family"] == "endpoint" and remote["model"]["pattern"] == "probe"


def test_tool_episodes_interactive_and_in_openai_tool_format(server, probe_checkpoint):
    """Interactive tool episodes (the model's calls run in the environment, results fed back) give the in-process
    transcripts; the OpenAI tools/tool_calls format scores what the text format scores (teacher-forced)."""
    from omegaconf import OmegaConf

    task = ToolEpisode(turns=2, n_accounts=2, n_files=1, n_events=1)
    examples = {task.name: task.generate(3, seed=0, split="test")}
    model, tok, _ = load_pretrained(OmegaConf.create({"family": "pretrained", "path": str(probe_checkpoint)}))
    budgets = answer_budgets(tok, examples, 6)
    client = ChatClient(server.url, "probe")
    for mode in ("interactive", "teacher_forced"):
        cfg = OmegaConf.create({"batch_size": 4, "max_new_tokens": 6, "multi_turn": mode, "max_turns": None})
        local = evaluate(model, tok, {task.name: task}, examples, cfg)
        remote = evaluate_endpoint(client, {task.name: task}, examples, cfg, budgets, concurrency=3)
        assert [r["outputs"] for r in local] == [r["outputs"] for r in remote], mode
        assert [r.get("transcript") for r in local] == [r.get("transcript") for r in remote], mode
        tools = evaluate_endpoint(client, {task.name: task}, examples, cfg, budgets, tool_format="openai")
        assert [r["score"] for r in tools] == [r["score"] for r in local], mode
        assert [r["final_state_match"] for r in tools] == [r["final_state_match"] for r in local], mode


def test_a_server_killed_mid_run_resumes_asking_only_the_missing_requests(probe_checkpoint, tmp_path):
    cache, job = tmp_path / "cache", tmp_path / "job"
    over = ("model.concurrency=1", "model.max_retries=1")
    with Server(probe_checkpoint, "--stop-after", "7") as dying:
        with pytest.raises(EndpointError, match="after 1 retries"):
            run_job(endpoint_job(dying.url, probe_checkpoint, cache, *over), job)
        assert dying.wait_exit() == 0
    assert not (job / "results.json").exists()  # nothing half-written or mislabelled
    with Server(probe_checkpoint, port=dying.port) as fresh:  # restarted where it was: the same endpoint
        resumed = run_job(endpoint_job(fresh.url, probe_checkpoint, cache, *over), job)
        ep = resumed["endpoint"]
        assert ep["cached"] == 7 and ep["sent"] == ep["requests"] - 7 and ep["errors"] == 0
        again = run_job(endpoint_job(fresh.url, probe_checkpoint, cache), tmp_path / "rerun")  # a rerun is free
    assert again["endpoint"]["sent"] == 0 and again["endpoint"]["cached"] == again["endpoint"]["requests"]
    assert [r["outputs"] for r in samples(job)] == [r["outputs"] for r in samples(tmp_path / "rerun")]


def test_a_rejected_request_is_a_scored_zero_error_record_not_a_crash(probe_checkpoint, tmp_path):
    """--max-model-len 60: the long mqar prompts are refused (HTTP 400, context too long), the short ones answered."""
    with Server(probe_checkpoint, "--max-model-len", "60") as short:
        res = run_job(endpoint_job(short.url, probe_checkpoint, tmp_path / "cache"), tmp_path / "job")
    recs = samples(tmp_path / "job")
    bad = [r for r in recs if "error" in r]
    assert bad and len(bad) < len(recs)
    assert all("HTTP 400" in r["error"] and "context too long" in r["error"] for r in bad)
    assert all(r["score"] == 0.0 and set(r["turn_scores"]) == {0.0} for r in bad)
    assert res["endpoint"]["errors"] == len(bad) == sum(t["errors"] for t in res["tasks"].values())
    assert res["complete"] and len(recs) == sum(t["n"] for t in res["tasks"].values())
    assert res["endpoint"]["error_examples"][0]["error"] == bad[0]["error"]
    from hybrid_eval.harness.report.markdown import build

    path, g, _ = build(tmp_path / "job")  # the report counts them too
    (errors,) = [s["errors"] for s in g["scores"].values()]
    assert sum(errors.values()) == len(bad) and "**Endpoint errors**" in path.read_text()


def test_the_api_key_is_sent_but_never_written(probe_checkpoint, tmp_path, monkeypatch, capsys, caplog):
    secret = "sk-test-9f8e7d6c5b4a"
    monkeypatch.setenv("HE_TEST_KEY", secret)
    with Server(probe_checkpoint, "--api-key-env", "HE_TEST_KEY") as guarded:
        res = run_job(endpoint_job(guarded.url, probe_checkpoint, tmp_path / "cache", "model.api_key_env=HE_TEST_KEY"),
                      tmp_path / "job")
        assert res["endpoint"]["errors"] == 0 and res["model"]["api_key_env"] == "HE_TEST_KEY"
        with pytest.raises(EndpointError, match="HTTP 401"):  # the server does check it
            ChatClient(guarded.url, "probe", max_retries=0).chat([{"role": "user", "content": "hi"}], max_tokens=2)
    out = capsys.readouterr()
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not any(secret in text for text in written + [out.out, out.err, caplog.text])


def test_seeded_sampling_gives_the_same_pass_k_twice(server, probe_checkpoint):
    from omegaconf import OmegaConf

    from hybrid_eval.tasks.multi_turn.fact_recall import FactRecall

    task = FactRecall()
    examples = {task.name: task.generate(2, seed=0, split="test")}
    cfg = OmegaConf.create({"batch_size": 4, "max_new_tokens": 6, "multi_turn": "interactive", "max_turns": None,
                            "samples_k": 3, "temperature": 1.5})
    runs = [evaluate_endpoint(ChatClient(server.url, "probe"), {task.name: task}, examples, cfg, {task.name: 6})
            for _ in range(2)]
    assert [r["samples"] for r in runs[0]] == [r["samples"] for r in runs[1]]
    assert all(len(r["samples"]) == 3 and "pass_hat_k" in r for r in runs[0])


def include_dir(root: Path) -> Path:
    """Two lm-eval tasks over local data: `kite_say` (generate_until, exact_match) and `kite_pick` (multiple choice)."""
    colors = ["red", "blue", "green", "violet"]
    docs = [{"question": f"tina has the {c} kite . what color is the kite of tina ?", "answer": c, "choices": colors,
             "gold": k} for k, c in enumerate(colors)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    head = f"dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {root / 'docs.jsonl'}\ntest_split: test\n"
    metric = "  - metric: {m}\n    aggregation: mean\n    higher_is_better: true\nmetadata:\n  version: 1\n"
    (root / "say.yaml").write_text(
        "task: kite_say\n" + head + "output_type: generate_until\ndoc_to_text: '{{question}}'\n"
        "doc_to_target: '{{answer}}'\ngeneration_kwargs:\n  until: ['<|end|>']\n  max_gen_toks: 4\n"
        "metric_list:\n" + metric.format(m="exact_match"))
    (root / "pick.yaml").write_text(
        "task: kite_pick\n" + head + "output_type: multiple_choice\ndoc_to_text: '{{question}}'\n"
        "doc_to_choice: '{{choices}}'\ndoc_to_target: '{{gold}}'\nmetric_list:\n" + metric.format(m="acc"))
    return root


def test_lm_eval_tasks_run_against_the_same_endpoint(server, probe_checkpoint, tmp_path):
    """harness:ALIAS exports go to /v1/completions (local-completions) pre-rendered with model.tokenizer's template
    and score what the in-process HFLM path scores; a generate_until lm-eval task goes to /v1/chat/completions
    (local-chat-completions) and lands in results.json and samples.jsonl; a log-likelihood task is refused up front."""
    inc = include_dir(tmp_path / "include")
    lm = ["eval.lm_eval_tasks=[harness:one_fact_qa,kite_say]", f"eval.lm_eval_include=[{inc}]"]
    local = run_job(config("model=pretrained", f"model.path={probe_checkpoint}", *lm), tmp_path / "local")
    remote = run_job(endpoint_job(server.url, probe_checkpoint, tmp_path / "cache", *lm), tmp_path / "remote")
    one = "lm_eval/hybrid_eval_quick_one_fact_qa"
    assert remote["tasks"][one]["score"] == local["tasks"][one]["score"] == local["tasks"]["one_fact_qa"]["score"]
    by = lambda d, task: [r["score"] for r in samples(d) if r["task"] == task]  # noqa: E731
    assert by(tmp_path / "remote", one) == by(tmp_path / "local", one) == by(tmp_path / "local", "one_fact_qa")
    outs = lambda d: [r["outputs"] for r in samples(d) if r["task"] == one]  # noqa: E731
    assert outs(tmp_path / "remote") == outs(tmp_path / "local") and any(o[0] for o in outs(tmp_path / "local"))
    assert remote["tasks"]["lm_eval/kite_say"]["n"] == 4 and len(by(tmp_path / "remote", "lm_eval/kite_say")) == 4
    assert remote["lm_eval"]["model"]["other"] == "local-chat-completions"
    from hybrid_eval.harness.errors import ConfigError

    with pytest.raises(ConfigError, match="kite_pick.*multiple_choice task; through model=endpoint"):
        run_job(endpoint_job(server.url, probe_checkpoint, tmp_path / "cache", "eval.lm_eval_tasks=[kite_pick]",
                             f"eval.lm_eval_include=[{inc}]"), tmp_path / "refused")
    with pytest.raises(ConfigError, match="set model.tokenizer=DIR"):
        run_job(endpoint_job(server.url, probe_checkpoint, tmp_path / "cache", "model.tokenizer=null",
                             "eval.lm_eval_tasks=[harness:one_fact_qa]"), tmp_path / "refused2")


def run_cli(*args, cwd):
    import os
    import subprocess
    import sys

    from tests.harness.serving import ROOT, SMALL

    return subprocess.run([sys.executable, "-m", "hybrid_eval", "~experiment", *SMALL, *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_cli_pairs_an_endpoint_with_its_named_baseline_endpoint(server, probe_checkpoint, tmp_path):
    """Two served names (the same weights behind two servers): one command evaluates both on the identical examples,
    the report pairs them, and every gap is exactly 0."""
    from hybrid_eval.harness.analysis import gaps

    job = tmp_path / "job"
    with Server(probe_checkpoint, "--name", "twin") as twin:
        out = run_cli("model=endpoint", f"model.base_url={server.url}", "model.name=probe",
                      f"model.baseline_base_url={twin.url}", "model.baseline_name=twin", f"model.tokenizer={probe_checkpoint}",
                      f"model.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={job}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    base = json.loads((job / "baseline" / "results.json").read_text())
    assert base["model"]["pattern"] == "twin" and base["endpoint"]["base_url"] == twin.url
    (entry,) = gaps.compute(gaps.load_jobs(job))["variants"].values()
    assert entry["baseline_job"] == "job/baseline"
    assert entry["tasks"] and all(t["gap"] == 0 for t in entry["tasks"].values())


def test_cli_an_unreachable_server_exits_with_one_line(tmp_path):
    out = run_cli("model=endpoint", "model.base_url=http://127.0.0.1:9/v1", "model.name=x", "model.max_retries=1",
                  "model.backoff_s=0.01", f"model.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'job'}",
                  cwd=tmp_path)
    assert out.returncode == 2 and not (tmp_path / "job" / "results.json").exists()
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("hybrid-eval: error: http://127.0.0.1:9/v1 (x): no reply") and "after 1 retries" in line
