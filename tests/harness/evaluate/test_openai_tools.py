"""Tool episodes in OpenAI's tools/tool_calls format: gold transcripts convert there and back unchanged, every
call becomes a tool_calls entry answered by a `tool` message with its id, and a reply's tool call becomes the
canonical call line (or one the strict parser refuses)."""
from __future__ import annotations

import json

import pytest

from hybrid_eval.harness.evaluate.openai_tools import from_openai, reply_text, to_openai
from hybrid_eval.tasks.multi_turn.environment import TOOLS, Environment
from hybrid_eval.tasks.multi_turn.tool_call import ParseError, parse_call
from hybrid_eval.tasks.multi_turn.tool_episode import ToolEpisode


def test_gold_transcripts_go_there_and_back():
    for ex in ToolEpisode(turns=4).generate(5, seed=1, split="test"):
        history = [{"role": m["role"], "content": m["content"]} for m in ex["messages"]]
        converted = to_openai(history)
        calls = [m for m in converted if m.get("tool_calls")]
        assert len(calls) == sum(m["role"] == "tool" for m in history) > 0
        for i, m in enumerate(converted):
            if m["role"] == "tool":
                assert converted[i - 1]["tool_calls"][0]["id"] == m["tool_call_id"]
        assert from_openai(converted) == history


def test_an_unparsable_call_stays_text_and_its_result_goes_back_as_a_user_message():
    history = [{"role": "user", "content": "open it"}, {"role": "assistant", "content": "call open_account("},
               {"role": "tool", "content": "error : not a valid call"}]
    assert to_openai(history)[1:] == [{"role": "assistant", "content": "call open_account("},
                                      {"role": "user", "content": "error : not a valid call"}]


def reply(name, arguments):
    return {"content": None, "tool_calls": [{"id": "x", "type": "function",
                                             "function": {"name": name, "arguments": arguments}}]}


def test_a_reply_tool_call_becomes_the_canonical_line():
    line = reply_text(reply("transfer", json.dumps({"source": 1, "target": 2, "amount": 30})))
    assert line == "call transfer(source=1, target=2, amount=30)"
    assert reply_text(reply("create_file", '{"name": "notes", "text": "buy milk"}')) == \
        'call create_file(name=notes, text="buy milk")'
    assert reply_text({"content": " call get_balance(account=1) ", "tool_calls": None}) == "call get_balance(account=1)"


@pytest.mark.parametrize("name,arguments", [("transfer", "not json"), ("transfer", '{"amount": true}'),
                                            ("transfer", '{"amount": 1.5}'), ("Transfer", '{"a": 1}'),
                                            ("get_balance", '[1]'), ("__import__", '{"x": 1}')])
def test_a_bad_tool_call_becomes_a_line_the_parser_refuses(name, arguments):
    line = reply_text(reply(name, arguments))
    with pytest.raises(ParseError):
        parse_call(line)
    assert Environment().run(line) == "error : not a valid call"


def test_the_tool_schemas_describe_every_tool():
    schemas = Environment.tool_schemas()
    assert [s["function"]["name"] for s in schemas] == list(TOOLS)
    for s in schemas:
        params = s["function"]["parameters"]
        assert params["required"] == list(TOOLS[s["function"]["name"]])
        assert {p["type"] for p in params["properties"].values()} <= {"integer", "string"}
