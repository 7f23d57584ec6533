"""A simulated environment for tool-using episodes (tau-bench / BFCL multi-turn style): bank accounts,
files and a calendar, as typed state, with eight tools.

Every tool checks its arguments and returns one result line, "ok : ..." or "error : ...". An error never
changes the state and never repeats the caller's values, so results stay inside the closed vocabulary
(`VOCABULARY` plus the state's own words and numbers). Deterministic: the same calls on the same state give
the same results and the same state. File text is kept in normal form (`tasks.base.normalize`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from hybrid_eval.tasks.base import normalize
from hybrid_eval.tasks.multi_turn.tool_call import ParseError, ToolCall, parse_call
from hybrid_eval.tasks.vocab_extra import DAYS

# tool name -> its arguments and their types, in the order the system prompt lists them
TOOLS: dict[str, dict[str, type]] = {
    "open_account": {"owner": str, "deposit": int},
    "get_balance": {"account": int},
    "transfer": {"source": int, "target": int, "amount": int},
    "create_file": {"name": str, "text": str},
    "read_file": {"name": str},
    "delete_file": {"name": str},
    "add_event": {"day": str, "title": str},
    "list_events": {"day": str},
}
_WORD_ARGS = {"owner", "name", "day", "title"}  # str arguments that must be one word

VOCABULARY = sorted(set(
    "ok error : , . opened account for with has moved from to created file deleted says added on nothing "
    "no such tool takes not a valid call must be number word quoted string more than 0 that owner already an "
    "exists source and target are the same enough money in text is empty of week event day".split()
) | set(TOOLS) | {a for args in TOOLS.values() for a in args})


@dataclasses.dataclass
class Account:
    owner: str
    balance: int


@dataclasses.dataclass
class State:
    accounts: dict[int, Account] = dataclasses.field(default_factory=dict)
    files: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> text (normal form)
    events: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # day -> titles, in order added
    next_account: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": {str(i): {"owner": a.owner, "balance": a.balance} for i, a in sorted(self.accounts.items())},
            "files": dict(sorted(self.files.items())),
            "events": {d: list(t) for d, t in sorted(self.events.items()) if t},
            "next_account": self.next_account,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "State":
        return cls(
            accounts={int(i): Account(a["owner"], int(a["balance"])) for i, a in data["accounts"].items()},
            files=dict(data["files"]),
            events={d: list(t) for d, t in data["events"].items()},
            next_account=int(data["next_account"]),
        )

    def owner_account(self, owner: str) -> int | None:
        return next((i for i, a in self.accounts.items() if a.owner == owner), None)


def _is_word(text: str) -> bool:
    return bool(text) and text.isascii() and text[0].isalpha() and all(c.isalnum() or c == "_" for c in text) and text == text.lower()


class Environment:
    """The state and its tools. `call` runs a parsed call; `run` parses a model's line first."""

    def __init__(self, state: State | None = None):
        self.state = state if state is not None else State()

    @staticmethod
    def tool_schemas() -> list[dict]:
        """The tools as OpenAI function schemas (for `model.tool_format=openai`, docs/endpoints.md): every argument
        required, ints as integers, the rest as strings."""
        return [{"type": "function", "function": {
            "name": name,
            "description": f"{name.replace('_', ' ')} ({', '.join(args)})",
            "parameters": {"type": "object",
                           "properties": {a: {"type": "integer" if kind is int else "string"} for a, kind in args.items()},
                           "required": list(args), "additionalProperties": False},
        }} for name, args in TOOLS.items()]

    def run(self, line: str) -> str:
        try:
            call = parse_call(line)
        except ParseError:
            return "error : not a valid call"
        return self.call(call)

    def call(self, call: ToolCall) -> str:
        spec = TOOLS.get(call.name)
        if spec is None:
            return "error : no such tool"
        if set(call.args) != set(spec):
            return f"error : {call.name} takes {' , '.join(spec)}"
        for arg, kind in spec.items():
            value = call.args[arg]
            if kind is int and not isinstance(value, int):
                return f"error : {arg} must be a number"
            if kind is str and not isinstance(value, str):
                return f"error : {arg} must be a quoted string" if arg == "text" else f"error : {arg} must be a word"
            if arg in _WORD_ARGS and not _is_word(value):
                return f"error : {arg} must be a word"
        return getattr(self, call.name)(**call.args)

    # --- tools: arguments already have the right names and types ---------------------------------------
    def open_account(self, owner: str, deposit: int) -> str:
        if deposit < 1:
            return "error : deposit must be more than 0"
        if self.state.owner_account(owner) is not None:
            return "error : that owner already has an account"
        i = self.state.next_account
        self.state.accounts[i] = Account(owner, deposit)
        self.state.next_account += 1
        return f"ok : opened account {i} for {owner} with {deposit}"

    def get_balance(self, account: int) -> str:
        if account not in self.state.accounts:
            return "error : no such account"
        return f"ok : account {account} has {self.state.accounts[account].balance}"

    def transfer(self, source: int, target: int, amount: int) -> str:
        accounts = self.state.accounts
        if source not in accounts or target not in accounts:
            return "error : no such account"
        if source == target:
            return "error : source and target are the same"
        if amount < 1:
            return "error : amount must be more than 0"
        if accounts[source].balance < amount:
            return "error : not enough money in the source account"
        accounts[source].balance -= amount
        accounts[target].balance += amount
        return f"ok : moved {amount} from account {source} to account {target}"

    def create_file(self, name: str, text: str) -> str:
        if name in self.state.files:
            return "error : that file already exists"
        text = normalize(text)
        if not text:
            return "error : text is empty"
        self.state.files[name] = text
        return f"ok : created file {name}"

    def read_file(self, name: str) -> str:
        if name not in self.state.files:
            return "error : no such file"
        return f"ok : {name} says {self.state.files[name]}"

    def delete_file(self, name: str) -> str:
        if self.state.files.pop(name, None) is None:
            return "error : no such file"
        return f"ok : deleted file {name}"

    def add_event(self, day: str, title: str) -> str:
        if day not in DAYS:
            return "error : day must be a day of the week"
        if title in self.state.events.get(day, []):
            return "error : that event is already on that day"
        self.state.events.setdefault(day, []).append(title)
        return f"ok : added {title} on {day}"

    def list_events(self, day: str) -> str:
        if day not in DAYS:
            return "error : day must be a day of the week"
        titles = self.state.events.get(day, [])
        return f"ok : {day} : {' , '.join(titles)}" if titles else f"ok : nothing on {day}"
