"""Tool episodes in OpenAI's `tools` / `tool_calls` format (`model.tool_format=openai`; docs/endpoints.md).

The harness keeps a tool episode as text: an assistant turn `call NAME(arg=value)` followed by the environment's
result as a `tool` message (tasks/multi_turn/tool_call.py). For a server that speaks OpenAI's function calling:
- `to_openai(history)`: each assistant call line that parses becomes an assistant message with one `tool_calls`
  entry (arguments as JSON) and its result a `tool` message answering that call's id; an assistant line that does
  not parse stays text, and the environment's reply to it ("error : not a valid call") goes back as a user message
  (a `tool` message must answer a call);
- `reply_text(reply)`: a reply's first tool call written back as the canonical call line (`format_call`), which the
  task scores and the environment runs exactly as a text answer; a call whose arguments are not a JSON object of
  ints and strings becomes a line the strict parser refuses (the environment answers "error : not a valid call").
`from_openai(messages)` is the inverse of `to_openai`, used by the project's server to render a history with the
checkpoint's own chat template.
"""
from __future__ import annotations

import json

from hybrid_eval.tasks.multi_turn.tool_call import ParseError, ToolCall, format_call, parse_call


def _call_id(i: int) -> str:
    return f"call_{i}"


def to_openai(history: list[dict]) -> list[dict]:
    out, open_call = [], None
    for i, m in enumerate(history):
        if m["role"] == "assistant" and i + 1 < len(history) and history[i + 1]["role"] == "tool":
            try:
                call = parse_call(m["content"])
            except ParseError:
                out.append({"role": "assistant", "content": m["content"]})
                open_call = None
                continue
            open_call = _call_id(i)
            out.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": open_call, "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)}}]})
        elif m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": open_call, "content": m["content"]} if open_call is not None
                       else {"role": "user", "content": m["content"]})
            open_call = None
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def call_line(name, arguments) -> str:
    """The canonical `call NAME(...)` line of an OpenAI function call, or a line the strict parser refuses."""
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
        if not isinstance(name, str) or not isinstance(args, dict):
            raise ValueError("not a name and an object")
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in args.values()):
            raise ValueError("values must be ints or strings")
        line = format_call(ToolCall(name, dict(args)))
        parse_call(line)  # e.g. a name with capitals: refused here exactly as the environment would
        return line
    except (ValueError, ParseError):
        return f"invalid tool call {name!r}"[:200]


def reply_text(reply: dict) -> str:
    calls = reply.get("tool_calls")
    if calls:
        fn = calls[0].get("function") if isinstance(calls[0], dict) else None
        if not isinstance(fn, dict):
            return "invalid tool call"
        return call_line(fn.get("name"), fn.get("arguments"))
    return (reply.get("content") or "").strip()


def from_openai(messages: list[dict]) -> list[dict]:
    """Role/content messages: assistant tool calls as call lines, `tool` messages as they are."""
    out = []
    for m in messages:
        calls = m.get("tool_calls")
        if m.get("role") == "assistant" and calls:
            fn = calls[0].get("function", {}) if isinstance(calls[0], dict) else {}
            out.append({"role": "assistant", "content": call_line(fn.get("name"), fn.get("arguments"))})
        else:
            out.append({"role": m.get("role"), "content": m.get("content") or ""})
    return out
