"""The tool environment: every tool's success and error paths; tool_episode scoring and state replay."""
from __future__ import annotations

import json

import pytest

from hybrid_eval.tasks.base import words
from hybrid_eval.tasks.multi_turn.environment import TOOLS, VOCABULARY, Account, Environment, State
from hybrid_eval.tasks.registry import build, load_builtin

load_builtin()


def env() -> Environment:
    return Environment(State(
        accounts={1: Account("ann", 50), 2: Account("bob", 10)},
        files={"notes": "red lamp"},
        events={"monday": ["lunch"]},
        next_account=3,
    ))


CASES = [  # (line, result); each runs on a fresh env()
    ("call open_account(owner=carl, deposit=20)", "ok : opened account 3 for carl with 20"),
    ("call open_account(owner=ann, deposit=20)", "error : that owner already has an account"),
    ("call open_account(owner=carl, deposit=0)", "error : deposit must be more than 0"),
    ('call open_account(owner="two words", deposit=5)', "error : owner must be a word"),
    ("call get_balance(account=1)", "ok : account 1 has 50"),
    ("call get_balance(account=9)", "error : no such account"),
    ('call get_balance(account="1")', "error : account must be a number"),
    ("call transfer(source=1, target=2, amount=30)", "ok : moved 30 from account 1 to account 2"),
    ("call transfer(source=1, target=9, amount=30)", "error : no such account"),
    ("call transfer(source=1, target=1, amount=30)", "error : source and target are the same"),
    ("call transfer(source=1, target=2, amount=0)", "error : amount must be more than 0"),
    ("call transfer(source=2, target=1, amount=11)", "error : not enough money in the source account"),
    ("call transfer(source=1, target=2)", "error : transfer takes source , target , amount"),
    ('call create_file(name=todo, text="Buy  the LAMP")', "ok : created file todo"),
    ('call create_file(name=notes, text="x")', "error : that file already exists"),
    ('call create_file(name=todo, text="  ")', "error : text is empty"),
    ("call create_file(name=todo, text=5)", "error : text must be a quoted string"),
    ("call read_file(name=notes)", "ok : notes says red lamp"),
    ("call read_file(name=todo)", "error : no such file"),
    ("call delete_file(name=notes)", "ok : deleted file notes"),
    ("call delete_file(name=todo)", "error : no such file"),
    ("call delete_file(name=notes, force=yes)", "error : delete_file takes name"),
    ("call add_event(day=tuesday, title=gym)", "ok : added gym on tuesday"),
    ("call add_event(day=monday, title=lunch)", "error : that event is already on that day"),
    ("call add_event(day=someday, title=gym)", "error : day must be a day of the week"),
    ("call add_event(day=tuesday, title=7)", "error : title must be a word"),
    ("call list_events(day=monday)", "ok : monday : lunch"),
    ("call list_events(day=friday)", "ok : nothing on friday"),
    ("call list_events(day=funday)", "error : day must be a day of the week"),
    ("call rm_rf(path=root)", "error : no such tool"),
    ("call __class__()", "error : not a valid call"),
    ("get_balance(1)", "error : not a valid call"),
]


@pytest.mark.parametrize("line, result", CASES)
def test_tool_results(line, result):
    e = env()
    before = json.dumps(e.state.to_json())
    assert e.run(line) == result
    if result.startswith("error"):
        assert json.dumps(e.state.to_json()) == before  # errors never change the state
        assert set(words(result)) <= set(VOCABULARY)  # nor echo the caller's values


def test_every_tool_has_both_paths():
    tools = {line.split("(")[0].split()[1] for line, _ in CASES if line.startswith("call ")}
    assert set(TOOLS) <= tools
    for tool in TOOLS:
        results = [r for line, r in CASES if line.startswith(f"call {tool}(")]
        assert any(r.startswith("ok") for r in results) and any(r.startswith("error") for r in results), tool


def test_state_changes():
    e = env()
    e.run("call open_account(owner=carl, deposit=20)")
    e.run("call transfer(source=1, target=3, amount=45)")
    e.run('call create_file(name=todo, text="Buy  the LAMP")')
    e.run("call delete_file(name=notes)")
    e.run("call add_event(day=monday, title=gym)")
    assert e.state.to_json() == {
        "accounts": {"1": {"owner": "ann", "balance": 5}, "2": {"owner": "bob", "balance": 10}, "3": {"owner": "carl", "balance": 65}},
        "files": {"todo": "buy the lamp"},
        "events": {"monday": ["lunch", "gym"]},
        "next_account": 4,
    }
    assert State.from_json(json.loads(json.dumps(e.state.to_json()))).to_json() == e.state.to_json()
    assert e.run("call list_events(day=monday)") == "ok : monday : lunch , gym"


def test_gold_calls_replay_to_the_final_state():
    task = build("tool_episode", turns=8)
    for ex in task.generate(10, 0, "test"):
        calls = json.loads(ex["meta"])["calls"]
        assert calls == [ex["messages"][t]["content"] for t in ex["scored_turns"]]
        assert task.final_state_match(ex, calls)
        # the environment answers the gold calls exactly as the transcript says
        e = task.environment(ex)
        for t in ex["scored_turns"]:
            assert e.run(ex["messages"][t]["content"]) == ex["messages"][t + 1]["content"]


def test_final_state_match_detects_wrong_and_missing_calls():
    from hybrid_eval.tasks.vocab import NAMES

    task = build("tool_episode", turns=6)
    writes = mismatches = reads = 0
    for ex in task.generate(30, 1, "test"):
        m = json.loads(ex["meta"])
        calls = m["calls"]
        owners = {a["owner"] for a in m["final_state"]["accounts"].values()}
        extra = f"call open_account(owner={next(n for n in NAMES if n not in owners)}, deposit=1)"
        assert not task.final_state_match(ex, calls + [extra])
        for i, line in enumerate(calls):
            broken = calls[:i] + ["nonsense"] + calls[i + 1 :]
            if line.startswith(("call get_balance", "call read_file", "call list_events")):
                assert not task.final_state_match(ex, broken)  # the state matches, but a gold read is missing
                assert task.final_state_match(ex, calls + [line])  # an extra read is allowed
                reads += 1
            else:
                writes += 1
                mismatches += not task.final_state_match(ex, broken)
    # a skipped write is missed only when a later call undoes it (a file created, then deleted)
    assert reads > 10 and writes > 10 and mismatches / writes > 0.9


def test_tool_episode_scores_calls_per_turn():
    task = build("tool_episode", turns=4)
    ex = task.generate(1, 0, "test")[0]
    gold = [ex["messages"][t]["content"] for t in ex["scored_turns"]]
    spaced = [" ".join(words(g)) for g in gold]  # what a word-level model prints
    assert task.score(ex, spaced) == 1.0
    assert task.score(ex, gold[:3] + ["call list_events(day=funday)"]) == 0.75
    assert task.score(ex, gold[:2] + ["call nope(", "call get_balance(account=1) extra"]) == 0.5


def test_requests_depend_on_earlier_turns():
    task = build("tool_episode", turns=8)
    seen = set()
    for ex in task.generate(40, 0, "train"):
        m = ex["messages"]
        for t in ex["scored_turns"]:
            request, call = m[t - 1]["content"], m[t]["content"]
            if "the last account you opened" in request:
                opened = [x["content"] for x in m[: t - 1] if x["role"] == "tool" and "opened account" in x["content"]]
                assert f"={opened[-1].split()[4]}" in call  # the id the environment gave
                seen.add("opened")
            if request.startswith("move all of it"):
                amount = m[t - 2]["content"].split()[-1]  # the previous tool result: "ok : account N has B"
                assert call.endswith(f"amount={amount})")
                seen.add("all")
            if "the last file you created" in request:
                seen.add("created")
    assert seen == {"opened", "all", "created"}


def test_garbage_never_matches_an_episode_of_reads():
    """Issue 25's campaign: when the gold calls only read state, garbage output kept the start state and scored
    final_state_match=True (pass^k 1.0). Now every gold read is required."""
    task = build("tool_episode", turns=2, n_accounts=3, n_files=2)
    read_only = 0
    for ex in task.generate(200, 3, "test"):
        calls = json.loads(ex["meta"])["calls"]
        if all(c.startswith(("call get_balance", "call read_file", "call list_events")) for c in calls):
            read_only += 1
            assert task.final_state_match(ex, calls)
            assert not task.final_state_match(ex, ["nonsense", "call get_balance(account=999)"])
            assert not task.final_state_match(ex, calls[:1])  # one of the two reads
    assert read_only >= 5
