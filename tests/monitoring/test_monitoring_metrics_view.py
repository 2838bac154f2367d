from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitoring.actions import do_take_system_snapshot
from tests import factories

pytestmark = pytest.mark.django_db


def _families(body: bytes) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_it_serves_prometheus_text_to_a_staff_token(
    client: Any, reviewer: Any, workspace: Any
) -> None:
    factories.make_modification(workspace, status="awaiting_approval", safety_level="HIGH_RISK")
    factories.make_modification(workspace, status="applied", safety_level="SAFE")
    do_take_system_snapshot(interval=0.1)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {factories.token_for(reviewer)}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = _families(response.content)
    mods = {
        (s.labels["status"], s.labels["safety_level"]): s.value
        for s in families["selfheal_modifications"].samples
    }
    assert mods == {("awaiting_approval", "HIGH_RISK"): 1.0, ("applied", "SAFE"): 1.0}
    assert families["selfheal_approvals_waiting"].samples[0].value == 1.0
    assert families["selfheal_approvals_oldest_age_seconds"].samples[0].value >= 0.0
    statuses = {s.labels["status"]: s.value for s in families["selfheal_health_status"].samples}
    assert sum(statuses.values()) == 1.0
    assert "selfheal_queue_depth" in families
    assert "selfheal_healing_loop_running" in families


def test_it_accepts_the_metrics_token_as_a_bearer(client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


@pytest.mark.parametrize("persona", ["agent", "outsider"])
def test_it_refuses_tokens_without_a_staff_role(client: Any, request: Any, persona: str) -> None:
    user = request.getfixturevalue(persona)
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=f"Token {factories.token_for(user)}").status_code
        == 401
    )


def test_it_refuses_anonymous_and_bogus_tokens(client: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token not-a-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
