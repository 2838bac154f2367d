from __future__ import annotations

from typing import Any

import pytest

from healing.models import AuditEvent
from monitoring.models import HealingLoopState

pytestmark = pytest.mark.django_db


def test_it_lets_an_operator_start_and_stop_the_loop_with_a_record(
    api_as: Any, operator: Any
) -> None:
    client = api_as(operator)
    body = client.post("/api/v1/loop/start/", {"reason": "watch the deploy"}, format="json").json()
    assert body["loop"]["running"] is True
    assert HealingLoopState.objects.current().running
    assert client.post("/api/v1/loop/stop/", {}, format="json").json()["loop"]["running"] is False
    kinds = list(
        AuditEvent.objects.filter(kind__startswith="monitoring.")
        .order_by("id")
        .values_list("kind", "reason")
    )
    assert kinds == [("monitoring.loop_start", "watch the deploy"), ("monitoring.loop_stop", "")]


@pytest.mark.parametrize("persona", ["agent", "reviewer", "outsider"])
def test_it_refuses_loop_control_below_operator(api_as: Any, request: Any, persona: str) -> None:
    response = api_as(request.getfixturevalue(persona)).post(
        "/api/v1/loop/start/", {}, format="json"
    )
    assert response.status_code == 403
    assert not HealingLoopState.objects.current().running


def test_it_shows_status_to_reviewers(api_as: Any, reviewer: Any, admin_user: Any) -> None:
    api_as(admin_user).post("/api/v1/loop/start/", {}, format="json")
    body = api_as(reviewer).get("/api/v1/status/").json()
    assert body["loop"]["running"] is True
    assert [s["name"] for s in body["strategies"]] == [
        "basin_drift",
        "phi_degradation",
        "performance_regression",
        "memory_leak",
        "error_spike",
    ]
    assert not any(s["acts_alone"] for s in body["strategies"])
    assert api_as(None).get("/api/v1/status/").status_code == 401


@pytest.mark.parametrize("action", ["start", "stop", "interval"])
def test_it_answers_gone_with_the_new_url_at_the_old_loop_urls(
    api_as: Any, operator: Any, action: str
) -> None:
    response = api_as(operator).post(
        f"/api/v1/engine/{action}/", {"interval_seconds": 600}, format="json"
    )
    assert response.status_code == 410
    assert response.json()["new_url"] == f"/api/v1/loop/{action}/"
    assert not HealingLoopState.objects.current().running
    assert not AuditEvent.objects.filter(kind__startswith="monitoring.").exists()
