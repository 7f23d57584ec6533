"""The endpoint client against a real server (`hybrid-eval-serve --fail-first K`): 429 and 500 are retried with
backoff until an answer, a server failing past the retries stops with one line; replies are cached on disk and a
line cut short by a kill is skipped; a malformed reply is a one-line RequestRejected."""
from __future__ import annotations

import json

import pytest

from hybrid_eval.harness.decode.endpoint import ChatClient, EndpointUnavailable, RequestRejected, parse_reply
from hybrid_eval.harness.decode.response_cache import ResponseCache, request_key
from tests.harness.serving import Server

HELLO = [{"role": "user", "content": "tina has the red kite . what color is the kite of tina ?"}]


@pytest.mark.parametrize("status", ["429", "500"])
def test_injected_failures_are_retried_until_the_answer(status, probe_checkpoint):
    with Server(probe_checkpoint) as ok:
        reference = ChatClient(ok.url, "probe").chat(HELLO, max_tokens=4)
    with Server(probe_checkpoint, "--fail-first", "3", "--fail-status", status) as flaky:
        client = ChatClient(flaky.url, "probe", max_retries=5, backoff_s=0.01)
        assert client.chat(HELLO, max_tokens=4)["content"] == reference["content"]
    summary = client.summary()
    assert summary["retries"] == 3 and summary["sent"] == 1 and summary["rejected"] == 0


def test_a_server_failing_past_the_retries_stops_with_one_line(probe_checkpoint):
    with Server(probe_checkpoint, "--fail-first", "10", "--fail-status", "503") as down:
        client = ChatClient(down.url, "probe", max_retries=2, backoff_s=0.01)
        with pytest.raises(EndpointUnavailable) as e:
            client.chat(HELLO, max_tokens=4)
    assert "HTTP 503" in str(e.value) and "after 2 retries" in str(e.value) and "\n" not in str(e.value)
    assert client.summary()["retries"] == 2


def test_an_unreachable_server_is_retried_then_stops(probe_checkpoint):
    client = ChatClient("http://127.0.0.1:9/v1", "probe", max_retries=1, backoff_s=0.01, timeout_s=2)
    with pytest.raises(EndpointUnavailable, match="no reply"):
        client.chat(HELLO, max_tokens=4)


def test_replies_are_cached_and_a_truncated_line_is_skipped(probe_checkpoint, tmp_path):
    with Server(probe_checkpoint) as ok:
        cache = ResponseCache(tmp_path, ok.url, "probe")
        first = ChatClient(ok.url, "probe", cache=cache)
        reply = first.chat(HELLO, max_tokens=4)
        cache.close()
        with cache.path.open("a") as f:  # a kill in the middle of a write
            f.write('{"key": "abc", "reply": {"content"')
        again = ChatClient(ok.url, "probe", cache=ResponseCache(tmp_path, ok.url, "probe"))
        assert again.chat(HELLO, max_tokens=4) == reply
        assert again.summary()["sent"] == 0 and again.summary()["cached"] == 1
        other = ChatClient(ok.url, "probe", cache=ResponseCache(tmp_path, ok.url, "probe"))
        other.chat(HELLO, max_tokens=5)  # another request: asked
        assert other.summary()["sent"] == 1
    body = first.body(HELLO, max_tokens=4)
    assert request_key(ok.url, "probe", body) != request_key(ok.url, "other", body)


@pytest.mark.parametrize("data", [{}, {"choices": []}, {"choices": [{"message": {"content": 3}}]},
                                  {"choices": [{"message": {"tool_calls": "x"}}]}, [1, 2]])
def test_a_malformed_reply_is_a_one_line_rejection(data):
    with pytest.raises(RequestRejected, match="^malformed reply") as e:
        parse_reply(data)
    assert "\n" not in str(e.value)


def test_a_chat_completion_is_parsed():
    data = json.loads('{"choices": [{"message": {"role": "assistant", "content": "red"}, "finish_reason": "stop"}],'
                      ' "usage": {"prompt_tokens": 12, "completion_tokens": 1}}')
    assert parse_reply(data) == {"content": "red", "tool_calls": None, "finish_reason": "stop",
                                 "usage": {"prompt_tokens": 12, "completion_tokens": 1}}


def test_a_malformed_reply_from_a_real_server_is_an_error_record(probe_checkpoint):
    """HTTP 200 without choices (--malformed-first 1): that example is an error record scored 0, the rest are answered."""
    from omegaconf import OmegaConf

    from hybrid_eval.harness.evaluate.endpoint_scoring import evaluate_endpoint
    from hybrid_eval.tasks.short.one_fact_qa import OneFactQA

    task = OneFactQA()
    examples = {task.name: task.generate(3, seed=0, split="test")}
    cfg = OmegaConf.create({"batch_size": 4, "max_new_tokens": 4, "multi_turn": "teacher_forced", "max_turns": None})
    with Server(probe_checkpoint, "--malformed-first", "1") as odd:
        recs = evaluate_endpoint(ChatClient(odd.url, "probe"), {task.name: task}, examples, cfg, {task.name: 4},
                                 concurrency=1)
    assert recs[0]["error"].startswith("malformed reply") and recs[0]["score"] == 0.0 and recs[0]["outputs"] == [""]
    assert all("error" not in r for r in recs[1:])
