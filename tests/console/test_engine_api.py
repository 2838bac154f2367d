from __future__ import annotations

from typing import Any

import pytest

from healing.models import AuditEvent, EngineState

pytestmark = pytest.mark.django_db


def test_it_lets_an_operator_stop_and_resume_with_a_recorded_reason(
    api_as: Any, operator: Any
) -> None:
    client = api_as(operator)
    response = client.post(
        "/api/v1/engine/emergency-stop/", {"reason": "runaway agent"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "emergency_stopped"
    assert EngineState.objects.current().is_emergency_stopped
    assert client.get("/api/v1/engine/").json()["reason"] == "runaway agent"

    response = client.post("/api/v1/engine/resume/", {"reason": "agent fixed"}, format="json")
    assert response.json()["state"] == "running"
    kinds = list(
        AuditEvent.objects.filter(kind__startswith="engine.")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["engine.emergency_stop", "engine.resume"]


def test_it_requires_a_reason_to_stop(api_as: Any, operator: Any) -> None:
    response = api_as(operator).post(
        "/api/v1/engine/emergency-stop/", {"reason": "  "}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert EngineState.objects.current().is_running


@pytest.mark.parametrize("persona", ["agent", "reviewer", "outsider"])
def test_it_refuses_the_stop_to_those_without_the_operator_role(
    api_as: Any, request: Any, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    response = api_as(user).post("/api/v1/engine/emergency-stop/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert EngineState.objects.current().is_running


def test_it_answers_401_without_credentials(api_as: Any) -> None:
    assert api_as(None).get("/api/v1/engine/").status_code == 401
