"""Component checks behind /healthz: database, broker, channel layer, worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection
from kombu import Connection

ComponentStatus = dict[str, Any]


def _timed(fn: Callable[[], str | None]) -> ComponentStatus:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure, it never raises
        detail = f"{type(exc).__name__}: {exc}"
        ok = False
    return {
        "ok": ok,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "detail": detail or "",
    }


def check_database() -> ComponentStatus:
    def run() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return connection.vendor

    return _timed(run)


def _broker_connection() -> Connection:
    # A fresh connection from the settings each time: a health check must not reuse a pooled
    # connection that hides an outage.
    return Connection(
        settings.CELERY_BROKER_URL, connect_timeout=2, transport_options={"socket_timeout": 2}
    )


def check_broker() -> ComponentStatus:
    def run() -> str:
        with _broker_connection() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            conn.default_channel.client.ping()  # type: ignore[attr-defined]
        return conn.transport_cls if isinstance(conn.transport_cls, str) else "redis"

    return _timed(run)


def check_channel_layer() -> ComponentStatus:
    def run() -> str:
        if get_channel_layer() is None:
            raise RuntimeError("no channel layer configured")
        # A layer of its own, like the broker check's fresh connection: the shared one's
        # process-wide receive loop belongs to the live consumers, and a round trip through it
        # timed out while websockets were connected — a false "down" on every console page.
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

        async def roundtrip() -> None:
            import asyncio

            try:
                channel = await layer.new_channel("healthz.")
                token = uuid.uuid4().hex
                await layer.send(channel, {"type": "healthz", "token": token})
                message = await asyncio.wait_for(layer.receive(channel), timeout=2)
                if message.get("token") != token:
                    raise RuntimeError("channel layer returned a different message")
            finally:
                close = getattr(layer, "close_pools", None)
                if close is not None:
                    await close()

        async_to_sync(roundtrip)()
        return type(layer).__name__

    return _timed(run)


def check_worker(timeout: float = 1.0) -> ComponentStatus:
    from selfheal_site.celery import app

    def run() -> str:
        with _broker_connection() as conn:
            # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
            replies = app.control.ping(timeout=timeout, connection=conn, limit=1)
            if not replies:
                raise RuntimeError("no Celery worker answered a ping")
        return ", ".join(sorted(name for reply in replies for name in reply))

    return _timed(run)


def check_sandbox() -> ComponentStatus:
    """The isolation this machine gives, and any active workspace whose required level it cannot.

    Such a workspace is `degraded`, not down: its patches are blocked, every other workspace
    (and the console) works, so a load balancer must not take the service away for it."""
    from .sandbox import capabilities

    result = _timed(lambda: None)
    caps = capabilities()
    result["capabilities"] = caps
    from .models import Workspace

    try:
        required = list(Workspace.objects.active().values_list("name", "isolation_level"))
    except DatabaseError:
        # The database check reports that; the sandbox itself is not down.
        required = []
        result["detail"] = "workspaces unknown: database unreachable; "
    unmet = [
        {"workspace": name, "level": level}
        for name, level in required
        if not caps["levels"].get(level, {}).get("available")
    ]
    result["ok"] = bool(caps["levels"].get(caps["best"], {}).get("available", True))
    result["degraded"] = bool(unmet)
    result["unmet"] = unmet
    blocked = ", ".join(f"{u['workspace']} needs {u['level']}" for u in unmet)
    result["detail"] += f"best isolation: {caps['best']}" + (
        f"; blocked: {blocked}" if unmet else ""
    )
    return result


def public_view(components: dict[str, ComponentStatus]) -> dict[str, ComponentStatus]:
    """What anyone may read: up or down, and how long it took. No host, operator or workspace
    names and no error text (those stay for signed-in staff)."""
    public: dict[str, ComponentStatus] = {}
    for name, result in components.items():
        item: ComponentStatus = {"ok": result["ok"], "ms": result["ms"]}
        if result.get("degraded"):
            levels = sorted({u["level"] for u in result.get("unmet", [])})
            count = len(result.get("unmet", []))
            item["degraded"] = True
            item["detail"] = (
                f"{count} workspace(s) need an isolation level this machine cannot give "
                f"({', '.join(levels)}); their patches are blocked"
            )
        public[name] = item
    return public


CHECKS: dict[str, Callable[[], ComponentStatus]] = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
    "worker": check_worker,
    "sandbox": check_sandbox,
}


def run_checks(names: tuple[str, ...] | None = None) -> dict[str, ComponentStatus]:
    return {name: check() for name, check in CHECKS.items() if names is None or name in names}
