"""send_later (healing/queueing.py): a broker that is down never fails the request.

The broker really is unreachable here: the Celery app is pointed at a port nothing listens on."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from healing.intake.tasks import process_modification
from healing.models import Modification
from healing.queueing import send_later
from selfheal_site.celery import app
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit sends really happen


@pytest.fixture
def broker_down() -> Iterator[None]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    app._after_fork()  # drop the pooled connections to the live broker
    yield
    app.conf.broker_url = saved
    app._after_fork()


def test_it_answers_201_and_keeps_the_patch_received_when_the_broker_is_down(
    agent: Any, workspace: Any, api_as: Any, broker_down: None, caplog: Any
) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="healing.queueing"):
        response = api_as(agent).post("/api/v1/patches/", envelope(), format="json")
    took = time.monotonic() - started
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "received"
    assert Modification.objects.get(pk=response.json()["id"]).status == "received"
    assert "could not queue healing.process_modification" in caplog.text
    print(f"\n201 with the broker down in {took:.2f} s")


def test_it_reports_a_failed_send_without_raising(broker_down: None) -> None:
    assert send_later(process_modification, 1) is False
    assert send_later("healing.process_modification", 1) is False
