from __future__ import annotations

import base64
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client

from tests import factories
from tests.services_helpers import healthz

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
    client = Client()
    client.force_login(factories.make_user("hal-admin", role="admin"))  # the details are staff's
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert "broker" in body["down"] and "worker" in body["down"]
    assert body["components"]["database"]["ok"] is True
    assert "Error" in body["components"]["broker"]["detail"]


def test_it_needs_no_login() -> None:
    assert Client().get("/healthz").status_code in (200, 503)


def _open_websocket(port: int, token: str) -> socket.socket:
    """A live-updates websocket, opened by hand (the handshake is all this test needs)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/live/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\n\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101"), "the websocket was not accepted"
    return sock


def test_it_keeps_the_channel_layer_up_while_websockets_are_connected(reviewer: Any) -> None:
    """Found by a screenshot: with consoles connected, the channel-layer round trip went through
    the live consumers' shared receive loop and timed out now and then (56 of 80 checks under
    load), so every open page showed "Service down: live updates channel"."""
    from tests.conftest import _database_url_for_tests
    from tests.services_helpers import free_port, start_server, stop, wait_for

    port = free_port()
    server = start_server(dict(os.environ, DATABASE_URL=_database_url_for_tests()), port)
    sockets: list[socket.socket] = []
    try:
        status, body, _ = wait_for(port, None, 30)
        # Up, but for the worker when no session's worker answers pings.
        assert status in (200, 503) and set(body["down"]) <= {"worker"}, body
        token = factories.token_for(reviewer)
        sockets = [_open_websocket(port, token) for _ in range(5)]

        def channel_layer(_: int) -> dict[str, Any]:
            return healthz(port)[1]["components"]["channel_layer"]

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(channel_layer, range(40)))
        failed = [r for r in results if not r["ok"]]
        assert failed == [], f"{len(failed)} of {len(results)}: {failed[:3]}"
    finally:
        for sock in sockets:
            sock.close()
        stop(server)


def _unmet_workspace(tmp_path: Any, monkeypatch: Any) -> None:
    """A workspace that needs FULL isolation on a machine that (for this test) has no bwrap."""
    from healing.sandbox_probe import bubblewrap_works

    factories.make_workspace(
        factories.make_git_repo(tmp_path / "r"), name="secret-strict-ws", isolation_level="full"
    )
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")


def test_it_tells_anonymous_callers_what_is_down_and_nothing_else(
    celery_worker_process: Any, tmp_path: Any, monkeypatch: Any, operator: Any
) -> None:
    from healing.actions import do_emergency_stop
    from healing.sandbox_probe import bubblewrap_works

    do_emergency_stop(operator, "secret-stop-reason")
    _unmet_workspace(tmp_path, monkeypatch)
    try:
        anonymous = Client().get("/healthz")
        staff = Client()
        staff.force_login(operator)
        detailed = staff.get("/healthz").content.decode()
    finally:
        bubblewrap_works.cache_clear()
    text = anonymous.content.decode()
    for secret in ("olga-operator", "secret-stop-reason", "secret-strict-ws", socket.gethostname()):
        assert secret not in text, secret
        assert secret in detailed, secret  # signed-in staff still see everything
    body = anonymous.json()
    assert body["engine"] == {"state": "emergency_stopped"}
    # One workspace's isolation is reported, without its name, and takes nothing down.
    assert anonymous.status_code == 200, body
    assert body["down"] == [] and body["degraded"] == ["sandbox"]
    assert "need an isolation level" in body["components"]["sandbox"]["detail"]


def test_it_does_not_ping_the_broker_and_workers_on_every_anonymous_hit(
    monkeypatch: Any, reviewer: Any
) -> None:
    from healing import healthz

    calls: list[str] = []
    for name in ("broker", "worker", "channel_layer"):
        real = healthz.CHECKS[name]
        monkeypatch.setitem(
            healthz.CHECKS, name, lambda real=real, name=name: calls.append(name) or real()
        )
    for _ in range(10):
        Client().get("/healthz")
    assert sorted(calls) == ["broker", "channel_layer", "worker"]
    staff = Client()
    staff.force_login(reviewer)
    staff.get("/healthz")
    assert calls.count("worker") == 2  # staff get a fresh look
