"""The real parts, wired: a Celery task runs in a real worker over the real broker, and the event
it emits reaches a websocket client of the real ASGI application through the real channel layer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from healing.broadcast import ENGINE_GROUP
from healing.tasks import ping_broadcast
from tests import factories
from tests.console_helpers import live_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> Any:
    # database_sync_to_async runs in a worker thread whose connection outlives the test; close it
    # so PostgreSQL can drop the test database at the end.
    yield
    from channels.db import database_sync_to_async
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


async def _connect(token: str) -> WebsocketCommunicator:
    communicator = live_socket(token)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["kind"] == "hello"
    return communicator


async def test_it_delivers_a_worker_event_to_a_websocket_client(celery_worker_process: Any) -> None:
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(factories.make_user)("watcher", "reviewer")
    token = await database_sync_to_async(factories.token_for)(user)
    communicator = await _connect(token)
    marker = uuid.uuid4().hex

    result = ping_broadcast.delay(ENGINE_GROUP, {"marker": marker})
    message = await communicator.receive_json_from(timeout=20)

    assert message == {"kind": "ping", "payload": {"marker": marker}}
    # The task really ran in the worker process, not in this one.
    assert result.get(timeout=10) is True
    await communicator.disconnect()


async def test_it_refuses_an_anonymous_websocket() -> None:
    communicator = live_socket()
    connected, code = await communicator.connect(timeout=5)
    assert not connected
    assert code == 4401


async def test_it_refuses_an_agent_on_the_live_socket() -> None:
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(factories.make_user)("bot", "agent")
    token = await database_sync_to_async(factories.token_for)(user)
    communicator = live_socket(token)
    connected, code = await communicator.connect(timeout=5)
    assert not connected
    assert code == 4403
