"""The strict parser for one-line tool calls, `call NAME(arg=value, ...)` (docs/design.md §6).

Grammar (spaces and tabs allowed between tokens, nowhere else a line break):

    line   := "call" SPACE NAME "(" [arg ("," arg)*] ")"
    arg    := NAME "=" value
    value  := WORD | DIGITS | '"' any character but '"', '\\' and line breaks '"'
    NAME, WORD := a lower-case ASCII letter, then lower-case ASCII letters, digits or "_" (at most 64)

A WORD value followed by "(" is a nested call and is refused, as is a name starting with "_" (so
`__import__` never parses), a repeated argument, and any line over MAX_CHARS characters. DIGITS become an
int, WORD and quoted values a str. A hand-written scanner, one pass, no regular expressions and no
evaluation of the text: model output is data, never code.
"""
from __future__ import annotations

import dataclasses

MAX_CHARS = 512
MAX_NAME = 64
MAX_DIGITS = 18
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_NAME_REST = _LOWER + _DIGITS + "_"
_SPACE = " \t"


class ParseError(ValueError):
    """The text is not one well-formed call; the message is one line saying what and where."""


@dataclasses.dataclass(frozen=True, eq=True)
class ToolCall:
    name: str
    args: dict[str, int | str]  # argument name -> value, in the order written

    def __hash__(self) -> int:  # args is a dict, so the generated hash would fail
        return hash((self.name, tuple(sorted(self.args.items(), key=lambda kv: kv[0]))))


def format_call(call: ToolCall) -> str:
    """The canonical line for `call`: ints as digits, strings bare when they are a WORD, else quoted."""
    parts = []
    for key, value in call.args.items():
        if isinstance(value, int):
            text = str(value)
        elif _is_word(value):
            text = value
        else:
            if '"' in value or "\\" in value or "\n" in value:
                raise ValueError(f"cannot write {value!r} as a call value (no quotes, backslashes or line breaks)")
            text = f'"{value}"'
        parts.append(f"{key}={text}")
    return f"call {call.name}({', '.join(parts)})"


def _is_word(text: str) -> bool:
    return 0 < len(text) <= MAX_NAME and text[0] in _LOWER and all(c in _NAME_REST for c in text)


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.i = 0

    def fail(self, what: str) -> ParseError:
        got = repr(self.text[self.i]) if self.i < len(self.text) else "end of line"
        return ParseError(f"{what} at column {self.i + 1}, got {got}")

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def spaces(self) -> int:
        start = self.i
        while self.peek() and self.peek() in _SPACE:
            self.i += 1
        return self.i - start

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.i += 1

    def name(self, what: str) -> str:
        start = self.i
        if not (self.peek() and self.peek() in _LOWER):
            raise self.fail(f"expected a {what} (a lower-case letter first)")
        while self.peek() and self.peek() in _NAME_REST:
            self.i += 1
            if self.i - start > MAX_NAME:
                raise self.fail(f"{what} longer than {MAX_NAME} characters")
        return self.text[start : self.i]

    def value(self) -> int | str:
        c = self.peek()
        if c == '"':
            self.i += 1
            start = self.i
            while True:
                c = self.peek()
                if not c:
                    raise ParseError(f"unterminated string starting at column {start}")
                if c == "\\":
                    raise self.fail("escapes are not allowed in strings")
                if c in "\r\n":
                    raise self.fail("line break inside a string")
                if c == '"':
                    self.i += 1
                    return self.text[start : self.i - 1]
                self.i += 1
        if c and c in _DIGITS:
            start = self.i
            while self.peek() and self.peek() in _DIGITS:
                self.i += 1
                if self.i - start > MAX_DIGITS:
                    raise self.fail(f"number longer than {MAX_DIGITS} digits")
            if self.peek() and self.peek() in _NAME_REST:
                raise self.fail("a number must be digits only")
            return int(self.text[start : self.i])
        if c and c in _LOWER:
            word = self.name("word value")
            self.spaces()
            if self.peek() == "(":
                raise self.fail("nested calls are not allowed")
            return word
        raise self.fail('expected a value (a word, digits or a "string")')


def parse_call(text: str) -> ToolCall:
    """The call in `text` (surrounding whitespace ignored), or ParseError saying why it is not one."""
    if not isinstance(text, str):
        raise ParseError(f"a call is text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ParseError(f"call is {len(text)} characters long; at most {MAX_CHARS}")
    s = _Scanner(text.strip())
    for c in s.text:
        if c in "\r\n":
            raise ParseError("a call is one line; found a line break")
    if s.name("keyword") != "call":
        raise ParseError("a call starts with the word 'call'")
    if s.spaces() == 0:
        raise s.fail("expected a space after 'call'")
    name = s.name("tool name")
    s.spaces()
    s.expect("(")
    s.spaces()
    args: dict = {}
    if s.peek() != ")":
        while True:
            key = s.name("argument name")
            s.spaces()
            s.expect("=")
            s.spaces()
            if key in args:
                raise ParseError(f"argument {key!r} given twice")
            args[key] = s.value()
            s.spaces()
            if s.peek() != ",":
                break
            s.i += 1
            s.spaces()
    s.expect(")")
    s.spaces()
    if s.peek():
        raise s.fail("unexpected text after the call")
    return ToolCall(name, args)
