"""do_requeue_stalled and the takeover of a stalled validation (healing/actions/queue.py).

The tasks run eagerly in this process against the real database, so "sent again" means the real
task really ran; a second send must find nothing left to do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from healing.actions import do_change_setting
from healing.actions.queue import do_requeue_stalled
from healing.intake.actions import do_submit_patch
from healing.intake.tasks import process_modification
from healing.models import AuditEvent, Modification
from healing.sandbox.stop import _client
from healing.schedules import BEAT_SCHEDULE
from selfheal_site.celery import app
from tests import factories
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _stall(mod: Modification, status: str, seconds_ago: float) -> None:
    Modification.objects.filter(pk=mod.pk).update(
        status=status, status_changed_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def _claims(mod: Modification) -> int:
    return (
        AuditEvent.objects.for_modification(mod.pk)
        .filter(kind="modification.transition", from_state="received", to_state="validating")
        .count()
    )


def _submit(agent: Any) -> Modification:
    # Not a transactional test: the on_commit send never happens, as when the broker is down.
    return do_submit_patch(envelope(), submitted_by=agent, source=f"agent:{agent.username}")


def test_it_names_as_stalled_only_queued_rows_older_than_the_age(workspace: Any) -> None:
    statuses = ["received", "validating", "sandboxing", "approved", "applying"]
    statuses += ["awaiting_approval", "rejected", "blocked", "applied"]
    old = {status: factories.make_modification(workspace) for status in statuses}
    for status, mod in old.items():
        _stall(mod, status, 120)
    fresh = factories.make_modification(workspace)
    _stall(fresh, "received", 5)

    stalled = Modification.objects.stalled(older_than=timedelta(seconds=60))

    assert sorted(stalled.values_list("status", flat=True)) == sorted(
        ["received", "validating", "sandboxing", "approved"]
    )
    assert fresh not in stalled
    assert Modification.objects.stalled(older_than=timedelta(seconds=1)).filter(pk=fresh.pk)


def test_it_sends_stalled_intake_work_again_and_a_duplicate_does_nothing(
    agent: Any, admin_user: Any, workspace: Any, eager: None
) -> None:
    do_change_setting(admin_user, "queue.requeue_after_seconds", 30, "test")
    lost = _submit(agent)
    _stall(lost, "received", 45)
    recent = _submit(agent)  # received 0 s ago: its own send may still be on the way

    sent = do_requeue_stalled()

    assert sent == [(lost.pk, "received")]
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == "sandboxing"
    assert recent.status == "received"
    # A second sweep and a duplicate delivery of the same task both find nothing to do.
    assert do_requeue_stalled() == []
    assert process_modification.run(lost.pk) is None
    assert _claims(lost) == 1
    requeued = AuditEvent.objects.for_modification(lost.pk).filter(kind="modification.requeued")
    assert requeued.count() == 1
    assert "received for 45 s" in requeued.get().reason


def test_it_takes_over_a_validation_whose_worker_went_away_once(
    agent: Any, workspace: Any, eager: None
) -> None:
    orphan = _submit(agent)
    _stall(orphan, "validating", 120)  # its worker claimed it, then the database went away
    running = _submit(agent)
    _stall(running, "validating", 2)  # a live worker is on this one

    assert [pk for pk, _ in do_requeue_stalled()] == [orphan.pk]

    orphan.refresh_from_db()
    running.refresh_from_db()
    assert orphan.status == "sandboxing"
    assert running.status == "validating"
    assert process_modification.run(running.pk) is None  # a duplicate delivery leaves it be
    assert process_modification.run(orphan.pk) is None
    kinds = AuditEvent.objects.for_modification(orphan.pk).exclude(kind="modification.received")
    # Eager: the task ran inside the sweep, before the sweep recorded its requeue.
    assert sorted(kinds.values_list("kind", "from_state", "to_state")) == [
        ("modification.reclaimed", "", ""),
        ("modification.requeued", "", ""),
        ("modification.transition", "validating", "sandboxing"),
    ]


def test_it_leaves_a_sandbox_run_a_live_worker_holds(workspace: Any) -> None:
    mod = factories.make_modification(workspace)
    _stall(mod, "sandboxing", 600)
    key = f"selfheal:claim:sandbox:{mod.pk}"
    _client().set(key, "1", ex=60)
    try:
        assert do_requeue_stalled() == []
    finally:
        _client().delete(key)
    assert not AuditEvent.objects.filter(kind="modification.requeued").exists()


def test_it_is_on_the_beat_schedule() -> None:
    from healing.tasks import requeue_stalled

    assert BEAT_SCHEDULE["healing.requeue_stalled"]["task"] == requeue_stalled.name
    assert BEAT_SCHEDULE["healing.requeue_stalled"]["schedule"] <= 60


def test_it_validates_a_patch_the_apply_sent_back_at_once_and_once(
    agent: Any, workspace: Any
) -> None:
    from healing.actions import transition

    mod = _submit(agent)
    _stall(mod, "approved", 10)
    mod.refresh_from_db()
    # What the apply does when HEAD moved: approved → validating, then the task with that time.
    transition(mod, "validating", "system", "stale: HEAD moved", expected_from="approved")
    handed_over_at = mod.status_changed_at.isoformat()

    assert process_modification.run(mod.pk) is None  # a plain duplicate: not stalled, left be
    assert process_modification.run(mod.pk, handed_over_at) == "sandboxing"
    assert process_modification.run(mod.pk, handed_over_at) is None  # delivered twice: once
    assert not AuditEvent.objects.for_modification(mod.pk).filter(kind="modification.reclaimed")


def test_it_sends_a_stalled_diagnostic_run_again_and_it_runs_once(
    workspace: Any, operator: Any, tmp_path: Any
) -> None:
    from healing.tasks import requeue_stalled
    from selfdebug.actions import do_request_run
    from selfdebug.models import DiagnosticRun
    from selfdebug.tasks import run_diagnostics

    # Not a transactional test: the on_commit send never happens, as when the broker is down.
    lost = do_request_run(workspace, operator)
    DiagnosticRun.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(seconds=120)
    )
    other = factories.make_workspace(factories.make_git_repo(tmp_path / "other"))
    recent = do_request_run(other, operator)

    # Through the core's sweep: self-debugging registered its own with it.
    assert requeue_stalled.run() == {"modifications": [], "diagnostic_runs": [lost.pk]}

    events = AuditEvent.objects.filter(kind="diagnostics.requeued")
    assert [e.data["run_id"] for e in events] == [lost.pk]
    assert run_diagnostics.run(lost.pk) in {"done", "failed"}
    assert run_diagnostics.run(lost.pk) is None  # a duplicate delivery finds it taken
    recent.refresh_from_db()
    assert recent.status == "queued"
