"""Tool-using episodes against a simulated environment (tau-bench / BFCL multi-turn style).

The system message lists the tools and the starting accounts and files. Each of `turns` user turns asks
for one action; the gold assistant turn is one call line (`call transfer(source=4, target=2, amount=30)`,
tasks/multi_turn/tool_call.py) and a `tool` message carries the environment's result
(tasks/multi_turn/environment.py). Later requests lean on earlier turns: "the last account you opened"
needs the id a tool result gave, "move all of it" the balance one reported, "the last file you created"
a name from an earlier turn.

Score per example: per-turn call accuracy (a call is right when it parses and has the gold's tool and
arguments; strings compared in normal form). `final_state_match` replays a model's calls from the start
state and compares the end state with the gold's (meta "final_state"), the tau-bench criterion, and requires
every read the gold made (reads change no state: an episode of reads would otherwise match anything); with
several samples per episode, harness/analysis/pass_k.py gives pass^k. For interactive runs,
`environment(example)` is the episode's start state, ready to answer the model's own calls.
Chance: a uniform guess of the tool and of every argument value, averaged over the tools.
"""
from __future__ import annotations

import dataclasses
import json

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, normalize, user
from hybrid_eval.tasks.multi_turn.environment import TOOLS, VOCABULARY, Account, Environment, State
from hybrid_eval.tasks.multi_turn.tool_call import ParseError, ToolCall, format_call, parse_call
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab import COLORS, NAMES, OBJECTS, numbers
from hybrid_eval.tasks.vocab_extra import DAYS, EVENT_TITLES, FILE_NAMES

MAX_AMOUNT = 50  # deposits and transfers asked for are 1 .. MAX_AMOUNT
MAX_START = 99  # starting balances are 10 .. MAX_START
SYSTEM_HEAD = (
    "you act for the user on accounts , files and a calendar . answer each request with one line : call tool ( arg = value ) . "
    "tools : " + " , ".join(f"{t} ( {' , '.join(a)} )" for t, a in TOOLS.items()) + " ."
)
_TEMPLATE_WORDS = (
    "you act for the user on accounts , files and a calendar . answer each request with one line : call tool ( arg = value ) "
    "tools none account of open an with how much is in last opened ? move from to all it save \" new file called show me "
    "created delete put what"
).split()
_DEPENDENT = {"balance_new", "transfer_new", "transfer_all", "read_new"}  # requests that need an earlier turn


@register
class ToolEpisode(Task):
    name = "tool_episode"
    category = "multi_turn"
    version = 1
    description = "carry out a sequence of dependent requests by calling tools of a stateful environment"
    follows = "tau-bench (Yao et al. 2024), BFCL multi-turn"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        turns: int = 6  # user requests, each answered by one call
        n_accounts: int = 3  # accounts at the start
        n_files: int = 2  # files at the start
        n_events: int = 2  # calendar events at the start

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.turns <= 32:
            raise TaskConfigError(f"tool_episode: turns={k.turns}; accepted: 1..32")
        if not 1 <= k.n_accounts <= len(NAMES) // 2:
            raise TaskConfigError(f"tool_episode: n_accounts={k.n_accounts}; accepted: 1..{len(NAMES) // 2}")
        if not 0 <= k.n_files <= len(FILE_NAMES) // 2:
            raise TaskConfigError(f"tool_episode: n_files={k.n_files}; accepted: 0..{len(FILE_NAMES) // 2}")
        if not 0 <= k.n_events <= len(DAYS) * 2:
            raise TaskConfigError(f"tool_episode: n_events={k.n_events}; accepted: 0..{len(DAYS) * 2}")

    # --- generation ---------------------------------------------------------------------------------
    def _start(self, rng) -> State:
        k = self.knobs
        state = State()
        for owner in rng.sample(NAMES, k.n_accounts):
            state.accounts[state.next_account] = Account(owner, rng.randint(10, MAX_START))
            state.next_account += 1
        for name in rng.sample(FILE_NAMES, k.n_files):
            state.files[name] = f"{rng.choice(COLORS)} {rng.choice(OBJECTS)}"
        for day, title in rng.sample([(d, t) for d in DAYS for t in EVENT_TITLES], k.n_events):
            state.events.setdefault(day, []).append(title)
        return state

    @staticmethod
    def _system(state: State) -> str:
        accounts = " , ".join(f"{i} of {a.owner}" for i, a in state.accounts.items())
        files = " , ".join(state.files) or "none"
        return f"{SYSTEM_HEAD} accounts : {accounts} . files : {files} ."

    def _request(self, rng, state: State, memory: dict) -> tuple[str, ToolCall]:
        """One user request that is possible in `state`, and its gold call."""
        acc = state.accounts
        owners = {a.owner: i for i, a in acc.items()}
        funded = [i for i, a in acc.items() if a.balance >= 1]
        new = memory.get("opened") if memory.get("opened") in acc else None
        seen = memory.get("balance")  # (account, balance) if the previous turn asked for one
        options = {"balance_of", "add_event", "list_events"}
        if len(owners) < len(NAMES):
            options.add("open")
        if funded and len(acc) >= 2:
            options.add("transfer")
        if new is not None:
            options.add("balance_new")
            if acc[new].balance >= 1 and len(acc) >= 2:
                options.add("transfer_new")
        if seen is not None and seen[1] >= 1 and len(acc) >= 2:
            options.add("transfer_all")
        if len(state.files) < len(FILE_NAMES):
            options.add("create")
        if state.files:
            options |= {"read", "delete"}
        if memory.get("created") in state.files:
            options.add("read_new")
        options = sorted(options)
        kind = rng.choices(options, weights=[3 if o in _DEPENDENT else 1 for o in options])[0]

        def other_owner(i: int) -> str:
            return rng.choice([a.owner for j, a in acc.items() if j != i])

        if kind == "open":
            owner, amount = rng.choice([n for n in NAMES if n not in owners]), rng.randint(1, MAX_AMOUNT)
            return f"open an account for {owner} with {amount} .", ToolCall("open_account", {"owner": owner, "deposit": amount})
        if kind == "balance_of":
            owner = rng.choice(sorted(owners))
            return f"how much is in the account of {owner} ?", ToolCall("get_balance", {"account": owners[owner]})
        if kind == "balance_new":
            return "how much is in the last account you opened ?", ToolCall("get_balance", {"account": new})
        if kind in ("transfer", "transfer_new", "transfer_all"):
            source = rng.choice(funded) if kind == "transfer" else new if kind == "transfer_new" else seen[0]
            target = owners[other_owner(source)]
            amount = seen[1] if kind == "transfer_all" else rng.randint(1, min(MAX_AMOUNT, acc[source].balance))
            to = f"to the account of {acc[target].owner} ."
            text = {
                "transfer": f"move {amount} from the account of {acc[source].owner} {to}",
                "transfer_new": f"move {amount} from the last account you opened {to}",
                "transfer_all": f"move all of it {to}",
            }[kind]
            return text, ToolCall("transfer", {"source": source, "target": target, "amount": amount})
        if kind == "create":
            name = rng.choice([f for f in FILE_NAMES if f not in state.files])
            text = f"{rng.choice(COLORS)} {rng.choice(OBJECTS)}"
            return f'save " {text} " in a new file called {name} .', ToolCall("create_file", {"name": name, "text": text})
        if kind == "read":
            name = rng.choice(sorted(state.files))
            return f"show me the file {name} .", ToolCall("read_file", {"name": name})
        if kind == "read_new":
            return "show me the last file you created .", ToolCall("read_file", {"name": memory["created"]})
        if kind == "delete":
            name = rng.choice(sorted(state.files))
            return f"delete the file {name} .", ToolCall("delete_file", {"name": name})
        if kind == "add_event":
            day, title = rng.choice([(d, t) for d in DAYS for t in EVENT_TITLES if t not in state.events.get(d, [])])
            return f"put {title} on {day} in the calendar .", ToolCall("add_event", {"day": day, "title": title})
        day = rng.choice(DAYS)
        return f"what is on {day} ?", ToolCall("list_events", {"day": day})

    def make_example(self, rng):
        start = self._start(rng)
        env = Environment(State.from_json(start.to_json()))
        messages = [{"role": "system", "content": self._system(start)}]
        memory: dict = {}
        calls = []
        for _ in range(self.knobs.turns):
            request, call = self._request(rng, env.state, memory)
            result = env.call(call)
            assert result.startswith("ok :"), (call, result)  # the generator only asks for possible actions
            line = format_call(call)
            calls.append(line)
            messages += [user(request), assistant(line), {"role": "tool", "content": result}]
            memory["balance"] = None  # (account, balance) right after a get_balance, for "move all of it"
            if call.name == "get_balance":
                memory["balance"] = (call.args["account"], env.state.accounts[call.args["account"]].balance)
            if call.name == "open_account":
                memory["opened"] = env.state.next_account - 1
            if call.name == "create_file":
                memory["created"] = call.args["name"]
        meta = {"knobs": self.knob_dict(), "initial_state": start.to_json(), "final_state": env.state.to_json(), "calls": calls}
        return messages, meta

    # --- scoring --------------------------------------------------------------------------------------
    @staticmethod
    def _canonical(call: ToolCall) -> tuple:
        return call.name, {k: normalize(v) if isinstance(v, str) else v for k, v in call.args.items()}

    def score_turn(self, example, turn, output):
        try:
            said = parse_call(output)
        except ParseError:
            return 0.0
        return float(self._canonical(said) == self._canonical(parse_call(example["messages"][turn]["content"])))

    @staticmethod
    def environment(example) -> Environment:
        """A fresh environment in the episode's start state."""
        return Environment(State.from_json(json.loads(example["meta"])["initial_state"]))

    def _replay(self, example, calls: list[str]) -> tuple[dict, list[tuple]]:
        """The end state after `calls` from the start state, and the reads among them: the calls that succeeded and
        left the state as it was (a balance, a file, a day's events), in canonical form."""
        env = self.environment(example)
        reads = []
        for line in calls:
            before = env.state.to_json()
            result = env.run(line)
            if result.startswith("ok") and env.state.to_json() == before:
                reads.append(json.dumps(self._canonical(parse_call(line)), sort_keys=True))
        return env.state.to_json(), reads

    def final_state_match(self, example, calls: list[str]) -> bool:
        """Replay `calls` (a model's lines, unparsable ones included) from the start: the same end state as the gold
        calls' (tau-bench's criterion) and every read the gold made (a read changes no state, so without this an
        episode of reads would match whatever the model said). Extra reads are allowed."""
        meta = json.loads(example["meta"])
        state, reads = self._replay(example, calls)
        if state != meta["final_state"]:
            return False
        _, gold_reads = self._replay(example, meta["calls"])
        made = list(reads)
        for read in gold_reads:  # as a multiset: each gold read needs one of the model's
            if read not in made:
                return False
            made.remove(read)
        return True

    def chance(self) -> float:
        k = self.knobs
        size = {  # values a uniform guess would choose among, per argument
            "owner": len(NAMES), "deposit": MAX_AMOUNT, "amount": MAX_AMOUNT, "account": k.n_accounts + k.turns,
            "source": k.n_accounts + k.turns, "target": k.n_accounts + k.turns, "name": len(FILE_NAMES),
            "text": len(COLORS) * len(OBJECTS), "day": len(DAYS), "title": len(EVENT_TITLES),
        }
        per_tool = []
        for args in TOOLS.values():
            p = 1.0 / len(TOOLS)
            for a in args:
                p /= size[a]
            per_tool.append(p)
        return sum(per_tool) / len(per_tool)

    def vocabulary(self):
        k = self.knobs
        top = max(k.n_accounts * MAX_START + k.turns * MAX_AMOUNT, k.n_accounts + k.turns)
        return sorted(set(
            _TEMPLATE_WORDS + VOCABULARY + NAMES + COLORS + OBJECTS + DAYS + EVENT_TITLES + FILE_NAMES + numbers(top + 1)
        ) | {w for w in normalize(SYSTEM_HEAD).split()})
