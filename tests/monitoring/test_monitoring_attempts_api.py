from __future__ import annotations

from typing import Any

import pytest

from monitoring.models import AttemptStatus, HealingAttempt
from tests import factories

pytestmark = pytest.mark.django_db


def _attempt(action: str, workspace: Any = None) -> HealingAttempt:
    mod = factories.make_modification(workspace, status="applied") if workspace else None
    return HealingAttempt.objects.create(
        strategy="phi_degradation",
        action=action,
        modification=mod,
        finding={"metric": "phi", "value": 0.5, "threshold": 0.651},
        source="app",
        action_args={"source": "app"},
    )


def test_it_lets_a_reviewer_decide_a_rollback_but_not_an_engine_command(
    api_as: Any, reviewer: Any, workspace: Any
) -> None:
    rollback = _attempt("rollback", workspace)
    restart = _attempt("restart_workers")
    client = api_as(reviewer)
    assert client.post(f"/api/v1/healing/attempts/{restart.pk}/approve/").status_code == 403
    response = client.post(
        f"/api/v1/healing/attempts/{rollback.pk}/reject/", {"reason": "false alarm"}, format="json"
    )
    assert response.status_code == 200
    rollback.refresh_from_db()
    assert rollback.status == AttemptStatus.REJECTED and rollback.decided_by == reviewer
    # A decided attempt cannot be decided again.
    assert client.post(f"/api/v1/healing/attempts/{rollback.pk}/approve/").status_code == 400


def test_it_executes_an_approved_baseline_reset(api_as: Any, operator: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.actions import do_ingest_snapshots
    from monitoring.models import Baseline
    from monitoring.synthetic import stream

    do_ingest_snapshots(
        stream(
            30, start=timezone.now() - timedelta(minutes=5), step=timedelta(seconds=5), source="app"
        )
    )
    attempt = _attempt("reset_baseline")
    body = api_as(operator).post(f"/api/v1/healing/attempts/{attempt.pk}/approve/").json()
    assert body["status"] == "succeeded", body
    assert Baseline.objects.filter(source="app").count() == 1


def test_it_forces_the_engine_breaker_open_for_an_approved_open_breaker(
    api_as: Any, operator: Any
) -> None:
    from healing.models import EngineBreaker

    attempt = _attempt("open_breaker")
    body = api_as(operator).post(f"/api/v1/healing/attempts/{attempt.pk}/approve/").json()
    assert body["status"] == "succeeded", body
    assert "engine breaker open" in body["outcome"]
    assert EngineBreaker.objects.get().forced


def test_it_lists_attempts_for_staff_only(api_as: Any, reviewer: Any, agent: Any) -> None:
    _attempt("restart_workers")
    assert len(api_as(reviewer).get("/api/v1/healing/attempts/").json()["attempts"]) == 1
    assert api_as(agent).get("/api/v1/healing/attempts/").status_code == 403
    assert api_as(reviewer).post("/api/v1/healing/attempts/999/approve/").status_code == 404
