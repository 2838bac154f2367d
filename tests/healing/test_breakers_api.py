"""/api/v1/breakers/: everyone on staff reads; only admins act, always with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from healing.models import AuditEvent, EngineBreaker, WorkspaceBreaker
from tests.judgement_helpers import fail

pytestmark = pytest.mark.django_db


def test_it_shows_the_engine_and_workspace_breakers(
    api_as: Any, reviewer: Any, workspace: Any
) -> None:
    fail(workspace, "syntax", 3)
    body = api_as(reviewer).get("/api/v1/breakers/").json()
    assert body["engine"]["state"] == "CLOSED"
    [ws] = body["workspaces"]
    assert ws["state"] == "SYNTAX_OPEN"
    [syntax] = ws["circuits"]
    assert (
        syntax["open"] is True
        and syntax["trip"]["metric"] == "consecutive_failures"
        and syntax["retry_at"]
    )
    assert (
        api_as(reviewer).get(f"/api/v1/breakers/workspaces/{workspace.pk}/").json()["state"]
        == "SYNTAX_OPEN"
    )


def test_it_lets_an_admin_force_open_and_reset_the_engine_breaker(
    api_as: Any, admin_user: Any
) -> None:
    client = api_as(admin_user)
    response = client.post(
        "/api/v1/breakers/engine/force-open/", {"reason": "maintenance"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "OPEN" and response.json()["forced"] is True
    assert response.json()["changed_by"] == "ada-admin"
    response = client.post("/api/v1/breakers/engine/reset/", {"reason": "done"}, format="json")
    assert response.json()["state"] == "CLOSED"
    assert list(
        AuditEvent.objects.filter(kind="breaker.engine")
        .values_list("reason", flat=True)
        .order_by("id")
    ) == [
        "maintenance",
        "done",
    ]


def test_it_lets_an_admin_act_on_a_workspace_circuit(
    api_as: Any, admin_user: Any, workspace: Any
) -> None:
    client = api_as(admin_user)
    url = f"/api/v1/breakers/workspaces/{workspace.pk}/"
    response = client.post(
        url + "force-open/", {"reason": "audit", "error_type": "security"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "LOGIC_OPEN"
    assert (
        client.post(url + "reset/", {"reason": "audit over"}, format="json").json()["state"]
        == "CLOSED"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"reason": "x", "error_type": "cosmic"}, "error_type"),
    ],
)
def test_it_answers_400_with_field_messages_and_changes_nothing(
    api_as: Any, admin_user: Any, workspace: Any, body: dict, field: str
) -> None:
    response = api_as(admin_user).post(
        f"/api/v1/breakers/workspaces/{workspace.pk}/force-open/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not WorkspaceBreaker.objects.exists()


def test_it_needs_an_error_type_to_force_a_circuit(
    api_as: Any, admin_user: Any, workspace: Any
) -> None:
    response = api_as(admin_user).post(
        f"/api/v1/breakers/workspaces/{workspace.pk}/force-close/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 400 and "error_type" in response.json()["fields"]


@pytest.mark.parametrize("persona", ["operator", "reviewer", "agent", "outsider"])
def test_it_refuses_breaker_actions_to_non_admins(api_as: Any, request: Any, persona: str) -> None:
    user = request.getfixturevalue(persona)
    response = api_as(user).post(
        "/api/v1/breakers/engine/force-open/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert EngineBreaker.objects.current().state == "CLOSED"


def test_it_answers_404_for_an_unknown_workspace_or_action(api_as: Any, admin_user: Any) -> None:
    client = api_as(admin_user)
    assert (
        client.post(
            "/api/v1/breakers/workspaces/9999/reset/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        client.post("/api/v1/breakers/engine/explode/", {"reason": "x"}, format="json").status_code
        == 404
    )


def test_it_shows_calibration_and_learning(api_as: Any, reviewer: Any, workspace: Any) -> None:
    fail(workspace, "logic", 2, source="agent:bot")
    calibration = api_as(reviewer).get("/api/v1/calibration/").json()
    assert calibration["calibrated"] is False and calibration["needed"] == 50
    learning = api_as(reviewer).get("/api/v1/learning/").json()
    assert learning["success_rates"] == [
        {
            "workspace": "demo",
            "error_type": "logic",
            "source": "agent:bot",
            "strategy": "unspecified",
            "attempts": 2,
            "successes": 0,
            "rate": 0.0,
        }
    ]
    assert learning["thresholds"]["syntax"]["threshold"] == 0.95


def test_it_shows_each_engines_breaker_and_lets_an_admin_reset_one(
    api_as: Any, admin_user: Any, reviewer: Any, workspace: Any
) -> None:
    from tests import factories

    fail(workspace, "logic", 5, source="agent:a")
    factories.make_modification(workspace, source="agent:b")  # submitted, no outcome yet
    body = api_as(reviewer).get("/api/v1/breakers/").json()
    engines = {e["source"]: e for e in body["engines"]}
    assert (engines["agent:a"]["state"], engines["agent:a"]["consecutive_failures"]) == ("OPEN", 5)
    assert (engines["agent:b"]["state"], engines["agent:b"]["held"]) == ("CLOSED", 0)
    assert body["global"]["state"] == "CLOSED" and body["global"]["scope"] == "global"

    client = api_as(admin_user)
    assert (
        client.post("/api/v1/breakers/engines/agent:a/reset/", {}, format="json").status_code == 400
    )
    missing = client.post(
        "/api/v1/breakers/engines/agent:zz/reset/", {"reason": "x"}, format="json"
    )
    assert missing.status_code == 404
    response = client.post(
        "/api/v1/breakers/engines/agent:a/reset/", {"reason": "fixed"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "CLOSED"
    assert EngineBreaker.objects.for_source("agent:a").state == "CLOSED"
    assert (
        api_as(reviewer)
        .post("/api/v1/breakers/engines/agent:a/force-open/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
