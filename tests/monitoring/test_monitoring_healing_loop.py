"""The loop's promise: Φ drops after a modification is applied, and the loop proposes rolling back
exactly that modification — proposed, not applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from healing.actions import record_event
from healing.models import AuditEvent, Modification
from monitoring.actions import do_execute_attempt, do_ingest_snapshots, do_run_healing_cycle
from monitoring.models import AttemptStatus, HealingAttempt
from monitoring.synthetic import stream
from tests import factories

pytestmark = pytest.mark.django_db
STEP = timedelta(seconds=15)


def _applied(workspace: Any, at: Any, patch_id: str) -> Modification:
    mod = factories.make_modification(workspace, patch_id=patch_id, status="applied")
    event = record_event(
        "modification.transition",
        "system",
        workspace_id=workspace.pk,
        modification_id=mod.pk,
        from_state="applying",
        to_state="applied",
    )
    AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
    return mod


def _phi_drop(
    workspace: Any, *, at_index: int = 300, total: int = 400
) -> tuple[Modification, Modification, Modification]:
    start = timezone.now() - STEP * total
    healthy = stream(at_index, start=start, step=STEP, phi=0.76, source="app", seed=1)
    dropped = stream(
        total - at_index, start=start + STEP * at_index, step=STEP, phi=0.55, source="app", seed=1
    )
    for snap in healthy + dropped:
        snap["workspace"] = workspace.name
    do_ingest_snapshots(healthy + dropped)
    early = _applied(workspace, start + STEP * 100, "earlier-harmless")
    culprit = _applied(workspace, start + STEP * at_index - timedelta(seconds=5), "the-culprit")
    later = factories.make_modification(
        workspace, patch_id="still-in-review", status="awaiting_approval"
    )
    return early, culprit, later


def test_it_proposes_rolling_back_exactly_the_modification_applied_before_phi_dropped(
    workspace: Any,
) -> None:
    _, culprit, _ = _phi_drop(workspace)
    created = do_run_healing_cycle()
    rollbacks = [a for a in created if a.action == "rollback"]
    assert len(rollbacks) == 1
    attempt = rollbacks[0]
    assert attempt.modification_id == culprit.pk
    assert attempt.strategy == "phi_degradation"
    assert attempt.status == AttemptStatus.PROPOSED
    assert attempt.finding["metric"] == "phi" and attempt.finding["threshold"] == 0.651
    culprit.refresh_from_db()
    assert culprit.status == "applied"  # proposed, not applied
    assert AuditEvent.objects.filter(
        kind="monitoring.healing_proposed", modification=culprit
    ).exists()


def test_it_does_not_propose_the_same_rollback_twice(workspace: Any) -> None:
    _phi_drop(workspace)
    do_run_healing_cycle()
    assert do_run_healing_cycle() == []
    assert HealingAttempt.objects.filter(action="rollback").count() == 1


def test_it_never_blames_a_modification_applied_after_the_turn(workspace: Any) -> None:
    start = timezone.now() - STEP * 400
    do_ingest_snapshots(
        stream(300, start=start, step=STEP, phi=0.76, source="app", seed=1)
        + stream(100, start=start + STEP * 300, step=STEP, phi=0.55, source="app", seed=1)
    )
    _applied(workspace, start + STEP * 20, "long-before")  # 70 minutes before the turn
    _applied(workspace, start + STEP * 350, "after-the-turn")
    created = do_run_healing_cycle()
    phi = [a for a in created if a.strategy == "phi_degradation"]
    assert len(phi) == 1
    # The one applied 70 minutes before the turn is within the lookback and is the latest before it.
    assert phi[0].modification.patch_id == "long-before"


def test_it_proposes_an_engine_breaker_when_no_application_is_in_the_lookback(
    workspace: Any,
) -> None:
    start = timezone.now() - STEP * 400
    do_ingest_snapshots(
        stream(300, start=start, step=STEP, phi=0.76, source="app", seed=1)
        + stream(100, start=start + STEP * 300, step=STEP, phi=0.55, source="app", seed=1)
    )
    created = do_run_healing_cycle()
    assert [(a.strategy, a.action, a.modification_id) for a in created] == [
        ("phi_degradation", "open_breaker", None)
    ]


def test_it_executes_an_approved_proposal_and_records_the_outcome(
    workspace: Any, reviewer: Any
) -> None:
    _phi_drop(workspace)
    attempt = HealingAttempt.objects.get(pk=do_run_healing_cycle()[0].pk)
    do_execute_attempt(attempt, reviewer)
    attempt.refresh_from_db()
    # The culprit was made applied without a commit of its own: the apply area's do_rollback
    # refuses it, and the attempt records that refusal as its outcome.
    assert attempt.status == AttemptStatus.FAILED
    assert "only an applied patch can be rolled back" in attempt.outcome
    assert attempt.decided_by == reviewer
    assert AuditEvent.objects.filter(kind="monitoring.healing_executed").exists()


def test_it_acts_alone_only_when_an_admin_allowed_the_strategy(
    workspace: Any, admin_user: Any
) -> None:
    from healing.actions import do_change_setting

    start = timezone.now() - STEP * 100
    do_ingest_snapshots(stream(100, start=start, step=STEP, source="app"))
    do_change_setting(
        admin_user, "monitoring.latency_max_ms", 50.0, "test"
    )  # every snapshot is now too slow
    do_change_setting(admin_user, "loop.auto.performance_regression", True, "test")
    created = do_run_healing_cycle()
    attempt = next(a for a in created if a.strategy == "performance_regression")
    assert attempt.auto is True
    assert attempt.status != AttemptStatus.PROPOSED  # executed at once, outcome recorded
    assert attempt.outcome
    others = [a for a in created if a.strategy != "performance_regression"]
    assert all(a.status == AttemptStatus.PROPOSED for a in others)
