"""An engine's breaker (the factories' source), driven through every transition, and the
operator-level global breaker."""

from __future__ import annotations

from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.breakers import record_outcome, run_preflight
from healing.breakers.actions import do_engine_breaker_action
from healing.models import AuditEvent, EngineBreaker
from tests import factories
from tests.judgement_helpers import (
    cool_down_engine,
    fail,
    healthy_monitor,  # noqa: F401 - fixture
    succeed,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("healthy_monitor")]


@pytest.fixture(autouse=True)
def _roomy_circuits() -> None:
    # Watch the engine breaker alone: the per-type circuits need many more failures here.
    for error_type in ("logic", "runtime"):
        do_change_setting(None, f"breaker.{error_type}.max_attempts", 1000)
        do_change_setting(None, f"breaker.{error_type}.error_budget", 1.0)


def engine() -> EngineBreaker:
    return EngineBreaker.objects.for_source("agent:factory")


def transitions() -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(kind="breaker.engine")
        .order_by("id")
        .values_list("from_state", "to_state")
    )


def test_it_opens_after_five_consecutive_failures_and_says_when_to_retry(workspace: Any) -> None:
    fail(workspace, n=4)
    succeed(workspace)
    fail(workspace, n=4)
    assert engine().state == "CLOSED"
    fail(workspace)
    breaker = engine()
    assert breaker.state == "OPEN" and breaker.consecutive_failures == 5
    assert (breaker.retry_at - breaker.opened_at).total_seconds() == 300

    result = run_preflight(factories.make_modification(workspace), stage="intake")
    check = next(c for c in result.checks if c.name == "engine_breaker")
    assert not result.ok and not check.ok
    assert (check.metric, check.value, check.threshold, check.retry_at) == (
        "consecutive_failures",
        5,
        5,
        breaker.retry_at,
    )
    assert "engine_breaker" in result.reason and "retry at" in result.reason
    assert transitions() == [("CLOSED", "OPEN")]


def test_it_half_opens_after_the_cool_down_lets_a_limited_trial_and_closes_on_three_successes(
    workspace: Any,
) -> None:
    fail(workspace, n=5)
    cool_down_engine()
    trials = [factories.make_modification(workspace) for _ in range(4)]
    results = [run_preflight(mod, stage="apply") for mod in trials]
    assert engine().state == "HALF_OPEN"
    assert [r.ok for r in results] == [True, True, True, False]
    refused = next(c for c in results[3].checks if c.name == "engine_breaker")
    assert (refused.metric, refused.value, refused.threshold) == ("trials_in_flight", 3, 3)
    # Intake is not a trial: it passes while half-open.
    assert run_preflight(factories.make_modification(workspace), stage="intake").ok

    for mod in trials[:2]:
        record_outcome(mod, success=True, stage="apply")
    assert engine().state == "HALF_OPEN"
    record_outcome(trials[2], success=True, stage="apply")
    assert engine().state == "CLOSED"
    assert transitions() == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]


def test_it_opens_again_when_a_trial_fails(workspace: Any) -> None:
    fail(workspace, n=5)
    cool_down_engine()
    trial = factories.make_modification(workspace)
    assert run_preflight(trial, stage="apply").ok
    record_outcome(trial, success=False, stage="apply")
    breaker = engine()
    assert breaker.state == "OPEN" and breaker.retry_at is not None and breaker.trials_admitted == 0
    assert transitions() == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "OPEN")]
    result = run_preflight(factories.make_modification(workspace), stage="intake")
    block = next(c for c in result.checks if c.name == "engine_breaker")
    assert (block.metric, block.value, block.threshold) == (
        "half_open_trial",
        "failed",
        "3 successes in a row",
    )
    assert block.retry_at == breaker.retry_at and "a trial failed while half-open" in block.reason


def test_it_lets_an_admin_force_open_force_close_and_reset_with_who_and_why(
    workspace: Any, admin_user: Any
) -> None:
    source = "agent:factory"
    do_engine_breaker_action(admin_user, "force-open", "deploy freeze", source)
    cool_down_engine()
    result = run_preflight(factories.make_modification(workspace), stage="intake")
    assert (
        not result.ok
        and result.blocking[0].retry_at is None
        and "deploy freeze" in result.blocking[0].reason
        and result.blocking[0].blocked_by == f"engine_breaker:{source}"
    )
    succeed(workspace, n=5)
    assert engine().state == "OPEN"  # outcomes do not close a forced breaker

    do_engine_breaker_action(admin_user, "force-close", "freeze over", source)
    assert engine().state == "CLOSED" and not engine().forced
    fail(workspace, n=5)
    assert engine().state == "OPEN"
    do_engine_breaker_action(admin_user, "reset", "agent replaced", source)
    breaker = engine()
    assert (breaker.state, breaker.consecutive_failures, breaker.retry_at) == ("CLOSED", 0, None)
    assert breaker.changed_by == admin_user and breaker.reason == "agent replaced"
    events = AuditEvent.objects.filter(kind="breaker.engine").order_by("id")
    assert [(e.from_state, e.to_state, e.actor_label, e.reason) for e in events] == [
        ("CLOSED", "OPEN", "user:ada-admin", "deploy freeze"),
        ("OPEN", "CLOSED", "user:ada-admin", "freeze over"),
        ("CLOSED", "OPEN", "system", "5 consecutive failures (threshold 5)"),
        ("OPEN", "CLOSED", "user:ada-admin", "agent replaced"),
    ]


def test_it_counts_each_engine_apart_so_one_never_blocks_another(workspace: Any) -> None:
    fail(workspace, n=20, source="agent:a")
    assert EngineBreaker.objects.for_source("agent:a").state == "OPEN"
    held = run_preflight(factories.make_modification(workspace, source="agent:a"), stage="intake")
    assert not held.ok and held.blocked_by[0][0] == "engine_breaker:agent:a"
    other = factories.make_modification(workspace, source="agent:b")
    assert run_preflight(other, stage="intake").ok and run_preflight(other, stage="apply").ok
    assert EngineBreaker.objects.for_source("agent:b").state == "CLOSED"
    assert EngineBreaker.objects.current().state == "CLOSED"  # the global one counts nothing


def test_it_holds_every_engine_while_the_global_breaker_is_open(
    workspace: Any, admin_user: Any
) -> None:
    do_engine_breaker_action(admin_user, "force-open", "change freeze")
    for source in ("agent:a", "agent:b"):
        result = run_preflight(
            factories.make_modification(workspace, source=source), stage="intake"
        )
        assert not result.ok and result.blocked_by == [("global_breaker", None)]
        assert "change freeze" in result.reason
    do_engine_breaker_action(admin_user, "force-close", "freeze over")
    assert run_preflight(
        factories.make_modification(workspace, source="agent:a"), stage="intake"
    ).ok


def test_it_refuses_an_action_without_a_reason(admin_user: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        do_engine_breaker_action(admin_user, "force-open", "   ")
    assert engine().state == "CLOSED"
    assert not AuditEvent.objects.filter(kind__startswith="breaker").exists()
