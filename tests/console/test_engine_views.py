from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healing.models import AuditEvent, EngineState

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_stops_with_a_reason_and_shows_the_banner_on_every_page(
    operator: Any, reviewer: Any
) -> None:
    response = _client(operator).post(
        "/engine/stop/", {"reason": "runaway agent", "next": "/audit/"}
    )
    assert response.status_code == 302 and response["Location"] == "/audit/"
    state = EngineState.objects.current()
    assert state.is_emergency_stopped and state.changed_by == operator
    for path in ("/", "/audit/"):
        html = _client(reviewer).get(path).content.decode()
        assert "Emergency stop" in html and "runaway agent" in html and "olga-operator" in html


def test_it_refuses_a_stop_without_a_reason(operator: Any) -> None:
    response = _client(operator).post("/engine/stop/", {"reason": "  "})
    assert response.status_code == 400
    assert "needs a reason" in response.content.decode()
    assert EngineState.objects.current().is_running


def test_it_resumes_as_a_separate_recorded_action(operator: Any) -> None:
    client = _client(operator)
    client.post("/engine/stop/", {"reason": "check"})
    client.post("/engine/resume/", {"reason": "all clear"})
    assert EngineState.objects.current().is_running
    assert list(AuditEvent.objects.order_by("id").values_list("kind", "reason")) == [
        ("engine.emergency_stop", "check"),
        ("engine.resume", "all clear"),
    ]


def test_it_ignores_a_next_that_leaves_the_site(operator: Any) -> None:
    response = _client(operator).post(
        "/engine/stop/", {"reason": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_it_shows_the_stop_button_to_operators_only(operator: Any, reviewer: Any) -> None:
    assert 'id="stop-button"' in _client(operator).get("/").content.decode()
    assert 'id="stop-button"' not in _client(reviewer).get("/").content.decode()
    assert _client(reviewer).post("/engine/stop/", {"reason": "x"}).status_code == 403
    assert EngineState.objects.current().is_running
