from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_reports_every_component_up_with_a_worker(celery_worker_process: Any) -> None:
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["down"] == []
    assert set(body["components"]) == {"database", "broker", "channel_layer", "worker", "sandbox"}
    assert all(c["ok"] for c in body["components"].values())
    assert body["engine"]["state"] == "running"


def test_it_answers_503_naming_the_broker_and_worker_when_the_broker_is_unreachable(
    settings: Any,
) -> None:
    # Nothing listens on port 1: the broker and the worker checks fail, the database still answers.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert "broker" in body["down"] and "worker" in body["down"]
    assert body["components"]["database"]["ok"] is True
    assert "Error" in body["components"]["broker"]["detail"]


def test_it_needs_no_login() -> None:
    assert Client().get("/healthz").status_code in (200, 503)
