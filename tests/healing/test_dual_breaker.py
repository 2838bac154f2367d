"""The per-workspace dual breaker, driven through every transition."""

from __future__ import annotations

from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.breakers import record_outcome, run_preflight
from healing.breakers.actions import do_workspace_breaker_action
from healing.models import AuditEvent, ErrorTypeCircuit, WorkspaceBreaker
from tests import factories
from tests.judgement_helpers import (
    cool_down_circuit,
    fail,
    healthy_monitor,  # noqa: F401 - fixture
    succeed,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("healthy_monitor")]


def state(workspace: Any) -> str:
    return WorkspaceBreaker.objects.get(workspace=workspace).state


def circuit(workspace: Any, error_type: str) -> ErrorTypeCircuit:
    return ErrorTypeCircuit.objects.get(workspace=workspace, error_type=error_type)


def test_it_opens_the_syntax_circuit_after_three_consecutive_failures(workspace: Any) -> None:
    fail(workspace, "syntax", 2)
    assert state(workspace) == "CLOSED"
    fail(workspace, "syntax")
    assert state(workspace) == "SYNTAX_OPEN"
    c = circuit(workspace, "syntax")
    assert (c.attempts, c.failures, c.consecutive_failures) == (3, 3, 3)
    assert c.trip == {"metric": "consecutive_failures", "value": 3, "threshold": 3}
    events = AuditEvent.objects.filter(kind="breaker.workspace")
    assert [(e.from_state, e.to_state) for e in events] == [("CLOSED", "SYNTAX_OPEN")]

    blocked = run_preflight(
        factories.make_modification(workspace, error_type="syntax"), stage="intake"
    )
    check = next(c for c in blocked.checks if c.name == "breaker")
    assert not blocked.ok and not check.ok
    assert (check.metric, check.value, check.threshold) == ("consecutive_failures", 3, 3)
    assert check.retry_at == circuit(workspace, "syntax").retry_at
    # Logic fixes still go: only the syntax circuit is open.
    assert run_preflight(
        factories.make_modification(workspace, error_type="logic"), stage="intake"
    ).ok


def test_it_resets_the_attempt_count_on_a_success(workspace: Any) -> None:
    fail(workspace, "logic", 5)
    succeed(workspace, "logic")
    fail(workspace, "logic", 5)
    # 10 failures in the window: exactly the budget (10 % of 100), and never 10 in a row.
    assert state(workspace) == "CLOSED"
    assert circuit(workspace, "logic").consecutive_failures == 5
    fail(workspace, "logic")
    assert circuit(workspace, "logic").trip == {
        "metric": "failures_in_window",
        "value": 11,
        "threshold": 10,
    }


def test_it_opens_on_the_error_budget_over_the_window(workspace: Any) -> None:
    do_change_setting(None, "breaker.budget_window", 20)
    # performance: 5 % of 20 allows 1 failure; the second failure in the window opens it.
    fail(workspace, "performance")
    succeed(workspace, "performance", 3)
    assert state(workspace) == "CLOSED"
    fail(workspace, "performance")
    assert state(workspace) == "LOGIC_OPEN"
    assert circuit(workspace, "performance").trip == {
        "metric": "failures_in_window",
        "value": 2,
        "threshold": 1,
    }


def test_it_locks_the_workspace_when_both_circuits_open_until_an_admin_resets_it(
    workspace: Any, admin_user: Any
) -> None:
    fail(workspace, "syntax", 3)
    fail(workspace, "security", 3)
    assert state(workspace) == "PERMANENTLY_OPEN"
    result = run_preflight(
        factories.make_modification(workspace, error_type="runtime"), stage="intake"
    )
    check = next(c for c in result.checks if c.name == "breaker")
    assert not check.ok and check.retry_at is None and check.value == "PERMANENTLY_OPEN"
    assert "admin reset" in check.reason

    # A trial success after the cool-down closes its circuit, but the lock sticks.
    cool_down_circuit(workspace, "syntax")
    succeed(workspace, "syntax")
    assert not circuit(workspace, "syntax").is_open
    assert state(workspace) == "PERMANENTLY_OPEN"

    do_workspace_breaker_action(admin_user, workspace.pk, "reset", "fixed the flaky agent")
    assert state(workspace) == "CLOSED"
    assert not ErrorTypeCircuit.objects.filter(workspace=workspace, is_open=True).exists()
    reset = AuditEvent.objects.get(kind="breaker.reset")
    assert reset.actor_label == "user:ada-admin" and reset.reason == "fixed the flaky agent"
    assert list(
        AuditEvent.objects.filter(kind="breaker.workspace")
        .order_by("id")
        .values_list("from_state", "to_state")
    ) == [
        ("CLOSED", "SYNTAX_OPEN"),
        ("SYNTAX_OPEN", "PERMANENTLY_OPEN"),
        ("PERMANENTLY_OPEN", "CLOSED"),
    ]
    # A fresh error budget: old failures do not re-open it.
    fail(workspace, "security")
    assert state(workspace) == "CLOSED"


def test_it_lets_one_trial_through_after_the_cool_down(workspace: Any) -> None:
    do_change_setting(None, "engine_breaker.failure_threshold", 100)  # watch the circuit alone
    fail(workspace, "runtime", 10)
    assert state(workspace) == "LOGIC_OPEN"
    cool_down_circuit(workspace, "runtime")
    first = factories.make_modification(workspace, error_type="runtime")
    second = factories.make_modification(workspace, error_type="runtime")
    assert run_preflight(first, stage="apply").ok
    refused = run_preflight(second, stage="apply")
    assert (
        not refused.ok
        and refused.blocking[0].name == "breaker"
        and refused.blocking[0].retry_at is not None
    )

    # The trial fails: open again, a new cool-down.
    record_outcome(first, success=False, stage="apply")
    assert circuit(workspace, "runtime").is_open
    cool_down_circuit(workspace, "runtime")
    assert run_preflight(second, stage="apply").ok
    record_outcome(second, success=True, stage="apply")
    assert state(workspace) == "CLOSED"
    assert list(
        AuditEvent.objects.filter(kind="breaker.circuit")
        .order_by("id")
        .values_list("from_state", "to_state")
    ) == [
        ("closed", "open"),
        ("open", "closed"),
    ]


def test_it_lets_an_admin_force_a_circuit_open_and_closed(workspace: Any, admin_user: Any) -> None:
    do_workspace_breaker_action(admin_user, workspace.pk, "force-open", "agent gone rogue", "logic")
    assert state(workspace) == "LOGIC_OPEN"
    cool_down_circuit(workspace, "logic")  # no cool-down lifts a forced circuit
    result = run_preflight(
        factories.make_modification(workspace, error_type="logic"), stage="intake"
    )
    assert (
        not result.ok
        and result.blocking[0].retry_at is None
        and "admin" in result.blocking[0].reason
    )
    do_workspace_breaker_action(admin_user, workspace.pk, "force-close", "agent fixed", "logic")
    assert state(workspace) == "CLOSED"
    events = AuditEvent.objects.filter(kind="breaker.circuit").order_by("id")
    assert [(e.from_state, e.to_state, e.actor_label, e.reason) for e in events] == [
        ("closed", "forced_open", "user:ada-admin", "agent gone rogue"),
        ("forced_open", "closed", "user:ada-admin", "agent fixed"),
    ]


def test_it_counts_a_retried_outcome_once(workspace: Any) -> None:
    mod = factories.make_modification(workspace, error_type="logic")
    assert record_outcome(mod, success=False, stage="sandbox") is True
    assert record_outcome(mod, success=False, stage="sandbox") is False
    assert circuit(workspace, "logic").attempts == 1


def test_it_keeps_workspaces_apart(workspace: Any, tmp_path: Any) -> None:
    other = factories.make_workspace(tmp_path / "other")
    fail(workspace, "syntax", 3)
    assert state(workspace) == "SYNTAX_OPEN"
    assert run_preflight(factories.make_modification(other, error_type="syntax"), stage="intake").ok


def test_it_counts_one_attempt_per_patch_across_stages(workspace: Any) -> None:
    passed_sandbox = factories.make_modification(workspace, error_type="logic")
    record_outcome(passed_sandbox, success=True, stage="sandbox")
    assert not ErrorTypeCircuit.objects.filter(workspace=workspace).exists()  # not landed yet
    record_outcome(passed_sandbox, success=True, stage="apply")
    record_outcome(passed_sandbox, success=True, stage="verify")
    failed_twice = factories.make_modification(workspace, error_type="logic")
    record_outcome(failed_twice, success=False, stage="apply")
    record_outcome(failed_twice, success=False, stage="rollback")
    c = circuit(workspace, "logic")
    assert (c.attempts, c.successes, c.failures) == (2, 1, 1)


def test_it_counts_each_engine_apart_in_a_workspace(workspace: Any, admin_user: Any) -> None:
    fail(workspace, "syntax", 3, source="agent:a")
    fail(workspace, "logic", 10, source="agent:a")
    assert state(workspace) == "PERMANENTLY_OPEN"
    a, b = (factories.make_modification(workspace, source=s) for s in ("agent:a", "agent:b"))
    held = run_preflight(a, stage="intake")
    assert not held.ok  # by its own engine breaker too: both name what lifts them
    assert (f"dual_breaker:{workspace.pk}:logic:agent:a", None) in held.blocked_by
    assert run_preflight(b, stage="intake").ok and run_preflight(b, stage="apply").ok
    assert not ErrorTypeCircuit.objects.filter(source="agent:b", is_open=True).exists()

    # An admin's circuit holds every engine.
    do_workspace_breaker_action(admin_user, workspace.pk, "force-open", "freeze", "runtime")
    other = factories.make_modification(workspace, source="agent:b", error_type="runtime")
    assert not run_preflight(other, stage="intake").ok
