"""The strict tool-call parser: what it accepts, what it refuses, and that it never evaluates text."""
from __future__ import annotations

import inspect

import pytest

from hybrid_eval.tasks.multi_turn import tool_call
from hybrid_eval.tasks.multi_turn.tool_call import MAX_CHARS, ParseError, ToolCall, format_call, parse_call


@pytest.mark.parametrize(
    "line, name, args",
    [
        ("call get_balance(account=3)", "get_balance", {"account": 3}),
        ("call list_events()", "list_events", {}),
        ("call transfer(source=4, target=2, amount=30)", "transfer", {"source": 4, "target": 2, "amount": 30}),
        ('call create_file(name=notes, text="red lamp")', "create_file", {"name": "notes", "text": "red lamp"}),
        ('call create_file(name="notes", text="a (b), c = d")', "create_file", {"name": "notes", "text": "a (b), c = d"}),
        ("  call read_file( name = notes )  ", "read_file", {"name": "notes"}),
        # a word-level model's output: every token separated by spaces
        ('call create_file ( name = notes , text = " red lamp " )', "create_file", {"name": "notes", "text": " red lamp "}),
        ("call add_event(day=monday,title=lunch_2)", "add_event", {"day": "monday", "title": "lunch_2"}),
        ('call f(x="")', "f", {"x": ""}),
    ],
)
def test_valid_calls(line, name, args):
    call = parse_call(line)
    assert call == ToolCall(name, args)
    assert list(call.args) == list(args)  # order kept


@pytest.mark.parametrize(
    "line, reason",
    [
        ("call get_balance(account=3", "expected ')'"),
        ("call get_balance account=3)", "expected '('"),
        ("call get_balance((account=3))", "argument name"),
        ("call get_balance(account=3))", "unexpected text"),
        ("get_balance(account=3)", "starts with the word 'call'"),
        ("callget_balance(account=3)", "starts with the word 'call'"),
        ("call Get_Balance(account=3)", "tool name"),
        ("call 9lives(x=1)", "tool name"),
        ("call get-balance(x=1)", "expected '('"),
        ("call __import__(x=1)", "tool name"),
        ('call f(x=__import__("os"))', "expected a value"),
        ("call f(x=g(y=1))", "nested calls"),
        ("call f(x=g (y=1))", "nested calls"),
        ("call f(x=1, x=2)", "given twice"),
        ("call f(x=1,)", "argument name"),
        ("call f(=1)", "argument name"),
        ("call f(x)", "expected '='"),
        ("call f(x=)", "expected a value"),
        ("call f(x=-1)", "expected a value"),
        ("call f(x=1.5)", "expected ')'"),
        ("call f(x=12ab)", "digits only"),
        ('call f(x="abc)', "unterminated string"),
        ('call f(x="a\\"b")', "escapes"),
        ("call f(x='a')", "expected a value"),
        ("call f(x=1)\ncall g(y=2)", "one line"),
        ("call f(x=1) .", "unexpected text"),
        ("call f(x=1); import os", "unexpected text"),
        ("", "keyword"),
        ("call", "space after 'call'"),
        ("call f(x=" + "1" * 30 + ")", "longer than 18 digits"),
        ("call " + "f" * 70 + "()", "longer than 64"),
        ("call f(x=\"" + "a" * MAX_CHARS + "\")", "at most 512"),
    ],
)
def test_malformed_calls_are_refused(line, reason):
    with pytest.raises(ParseError) as err:
        parse_call(line)
    assert reason in str(err.value)
    assert "\n" not in str(err.value)


def test_non_text_is_refused():
    with pytest.raises(ParseError, match="a call is text"):
        parse_call(None)


def test_format_round_trips():
    for call in [
        ToolCall("transfer", {"source": 4, "target": 2, "amount": 30}),
        ToolCall("create_file", {"name": "notes", "text": "red lamp"}),
        ToolCall("list_events", {}),
        ToolCall("f", {"x": "Notes", "y": ""}),
    ]:
        assert parse_call(format_call(call)) == call
    assert format_call(ToolCall("f", {"a": 1, "b": "w", "c": "two words"})) == 'call f(a=1, b=w, c="two words")'
    with pytest.raises(ValueError):
        format_call(ToolCall("f", {"x": 'say "hi"'}))


def test_parser_never_evaluates_and_uses_no_regex():
    source = inspect.getsource(tool_call)
    for banned in ("eval(", "exec(", "compile(", "import re", "__import__(", "literal_eval", "getattr("):
        assert banned not in source, banned


def test_long_input_is_refused_before_scanning():
    line = "call f(" + "x=1, " * 200 + ")"
    assert len(line) > MAX_CHARS
    with pytest.raises(ParseError, match=f"at most {MAX_CHARS}"):
        parse_call(line)
