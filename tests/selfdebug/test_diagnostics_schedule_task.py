"""The beat task queues scheduled runs per workspace at the tunable interval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from selfdebug.models import DiagnosticRun
from selfdebug.tasks import schedule_diagnostics
from tests import factories


def test_it_is_in_the_beat_schedule() -> None:
    from selfheal_site.celery import app

    # What beat runs: the entries selfheal_site.celery collects from every app, and the task the
    # name resolves to there.
    app.finalize()
    entry = app.conf.beat_schedule["diagnostics-schedule"]
    assert (
        app.tasks[entry["task"]].name == schedule_diagnostics.name == "healing.schedule_diagnostics"
    )


def test_it_queues_due_workspaces_once(
    tmp_path: Any, db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    due = factories.make_workspace(tmp_path / "a", name="due")
    factories.make_workspace(
        tmp_path / "b", name="off", policy_overrides={"diagnostics.schedule_interval_minutes": 0}
    )
    recent = factories.make_workspace(tmp_path / "c", name="recent")
    DiagnosticRun.objects.create(
        workspace=recent, status="done", created_at=timezone.now() - timedelta(minutes=5)
    )
    old = factories.make_workspace(
        tmp_path / "d", name="old", policy_overrides={"diagnostics.schedule_interval_minutes": 60}
    )
    DiagnosticRun.objects.create(
        workspace=old, status="done", created_at=timezone.now() - timedelta(minutes=61)
    )

    with django_capture_on_commit_callbacks(execute=False):
        queued = schedule_diagnostics()
    runs = DiagnosticRun.objects.filter(pk__in=queued)
    assert sorted(r.workspace.name for r in runs) == ["due", "old"]
    assert {r.trigger for r in runs} == {"schedule"}

    with django_capture_on_commit_callbacks(execute=False):
        assert schedule_diagnostics() == []  # just queued: not due, and still open
    assert DiagnosticRun.objects.filter(workspace=due).count() == 1
