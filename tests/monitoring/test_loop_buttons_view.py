"""The healing loop's buttons on the monitoring console: start, stop and the interval, posted as
forms (CSRF) by operators and admins; reviewers see the state without the buttons."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from healing import tunables
from healing.models import AuditEvent, SettingChange
from monitoring.models import HealingLoopState

pytestmark = pytest.mark.django_db


def _running() -> bool:
    return HealingLoopState.objects.current().running


def test_it_shows_the_buttons_to_an_operator_and_not_to_a_reviewer(
    client: Any, operator: Any, reviewer: Any
) -> None:
    client.force_login(operator)
    page = client.get("/monitoring/").content.decode()
    assert 'id="loop-start"' in page and 'id="loop-interval-form"' in page
    assert "csrfmiddlewaretoken" in page
    assert "onchange=" not in page and "onclick=" not in page  # no inline handlers (CSP)
    client.force_login(reviewer)
    page = client.get("/monitoring/").content.decode()
    assert 'id="loop-state"' in page
    assert 'id="loop-controls"' not in page and "/monitoring/loop/" not in page


def test_it_starts_and_stops_the_loop_with_the_reason_in_the_audit_log(
    client: Any, operator: Any
) -> None:
    client.force_login(operator)
    response = client.post("/monitoring/loop/start/", {"reason": "deploy watch"})
    assert response.status_code == 302 and response["Location"] == "/monitoring/"
    assert _running()
    page = client.get("/monitoring/").content.decode()
    assert re.search(r'id="loop-start"[^>]* hidden', page)  # the stop button is the one shown
    assert not re.search(r'id="loop-stop"[^>]* hidden', page)
    assert "deploy watch" in page
    start = AuditEvent.objects.get(kind="monitoring.loop_start")
    assert start.reason == "deploy watch" and start.actor_label.endswith(operator.username)
    client.post("/monitoring/loop/stop/", {"reason": "quiet night"})
    assert not _running()
    assert AuditEvent.objects.get(kind="monitoring.loop_stop").reason == "quiet night"


def test_it_sets_the_interval_through_the_setting_action(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(
        "/monitoring/loop/interval/", {"interval_seconds": "120", "reason": "faster"}
    )
    assert response.status_code == 302
    assert tunables.get("loop.interval_seconds") == 120
    change = SettingChange.objects.get(key="loop.interval_seconds")
    assert (change.old_value, change.new_value, change.reason) == (300, 120, "faster")
    assert "every 120 s" in client.get("/monitoring/").content.decode()


@pytest.mark.parametrize("raw", ["5", "abc", "", "99999999", "-60", "1.5"])
def test_it_refuses_a_bad_interval_with_a_400_and_stores_nothing(
    client: Any, operator: Any, raw: str
) -> None:
    client.force_login(operator)
    response = client.post("/monitoring/loop/interval/", {"interval_seconds": raw})
    assert response.status_code == 400
    assert 'id="loop-error"' in response.content.decode()
    assert tunables.get("loop.interval_seconds") == 300
    assert not SettingChange.objects.exists()


def test_it_refuses_a_reason_that_is_too_long(client: Any, operator: Any) -> None:
    client.force_login(operator)
    response = client.post("/monitoring/loop/start/", {"reason": "x" * 2001})
    assert response.status_code == 400
    assert not _running()


@pytest.mark.parametrize("url", ["start", "stop", "interval"])
def test_it_refuses_reviewers_and_outsiders(
    client: Any, reviewer: Any, outsider: Any, agent: Any, url: str
) -> None:
    for person in (reviewer, outsider, agent):
        client.force_login(person)
        response = client.post(
            f"/monitoring/loop/{url}/", {"interval_seconds": "60", "reason": "try"}
        )
        assert response.status_code == 403
    assert not _running()
    assert tunables.get("loop.interval_seconds") == 300
    assert not AuditEvent.objects.filter(kind__startswith="monitoring.loop").exists()


def test_it_answers_get_with_405(client: Any, operator: Any) -> None:
    client.force_login(operator)
    assert client.get("/monitoring/loop/start/").status_code == 405
    assert not _running()


def test_it_needs_the_csrf_token(operator: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/monitoring/loop/start/", {"reason": "forged"}).status_code == 403
    assert not _running()


def test_it_sets_the_interval_through_the_api_too(api_as: Any, operator: Any) -> None:
    response = api_as(operator).post(
        "/api/v1/loop/interval/", {"interval_seconds": 600, "reason": "slower"}, format="json"
    )
    assert response.status_code == 200 and response.json()["interval_seconds"] == 600
    bad = api_as(operator).post("/api/v1/loop/interval/", {"interval_seconds": 1}, format="json")
    assert bad.status_code == 400 and "interval_seconds" in bad.json()["fields"]
