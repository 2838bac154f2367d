"""The diagnostic logger: a context stack with entry, exit, parameters, durations, exceptions, state."""

from __future__ import annotations

import json

import pytest

from selfdebug.logger import DiagnosticLogger


def test_it_records_nested_contexts_with_parameters_results_and_durations() -> None:
    log = DiagnosticLogger("engine")
    with log.context("outer", workspace="demo") as outer:
        with log.context("inner", test="t::x") as inner:
            inner["result"] = "passed"
        outer["result"] = {"n": 1}
    kinds = [(e["kind"], e["name"], e["depth"]) for e in log.entries]
    assert kinds == [
        ("enter", "outer", 0),
        ("enter", "inner", 1),
        ("exit", "inner", 1),
        ("exit", "outer", 0),
    ]
    assert log.entries[0]["parameters"] == {"workspace": "demo"}
    assert log.entries[2]["result"] == "passed"
    assert all(e["duration_ms"] >= 0 for e in log.entries if e["kind"] == "exit")
    json.dumps(log.as_json())  # stored as JSON on the run


def test_it_records_an_exception_and_lets_it_propagate() -> None:
    log = DiagnosticLogger("engine")
    with pytest.raises(ZeroDivisionError), log.context("divide", a=1):
        1 / 0  # noqa: B018
    last = log.entries[-1]
    assert last["kind"] == "exception" and last["name"] == "divide"
    assert last["exception"] == "ZeroDivisionError: division by zero"
    assert "Traceback" in last["traceback"]
    assert log.context_stack == []


def test_it_records_state_changes_and_warns_on_an_empty_stack() -> None:
    log = DiagnosticLogger("engine")
    log.log_state_change("run:1", "status", "running", "done", reason="finished")
    log.exit_context()
    assert log.entries[0] == {
        **log.entries[0],
        "kind": "state",
        "old": "running",
        "new": "done",
        "reason": "finished",
    }
    assert log.entries[1]["kind"] == "warning"


def test_it_keeps_unserialisable_parameters_as_text() -> None:
    log = DiagnosticLogger("engine")
    log.enter_context("odd", thing=object(), long="x" * 10_000)
    entry = log.entries[0]
    assert entry["parameters"]["thing"].startswith("<object object")
    assert len(entry["parameters"]["long"]) == 500
