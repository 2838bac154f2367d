"""A breaker transition made in a real worker process reaches a websocket client of the console."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from selfheal_site.asgi import application
from tests import factories
from tests.conftest import _database_url_for_tests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> Any:
    yield
    from channels.db import database_sync_to_async
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


async def test_it_broadcasts_the_engine_breaker_opening(tmp_path: Path) -> None:
    from channels.db import database_sync_to_async

    def setup() -> tuple[str, list[int]]:
        user = factories.make_user("watcher", "reviewer")
        workspace = factories.make_workspace(
            factories.make_git_repo(tmp_path / "repo"), name="live"
        )
        ids = [factories.make_modification(workspace, error_type="runtime").pk for _ in range(5)]
        return factories.token_for(user), ids

    token, ids = await database_sync_to_async(setup)()
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Token {token}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=20)
    assert connected
    assert (await communicator.receive_json_from(timeout=20))["kind"] == "hello"

    start = tmp_path / "go"
    start.touch()
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    # An asyncio subprocess keeps this event loop (and the socket) running while the worker works.
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.judgement_hammer",
        "outcome",
        str(start),
        *map(str, ids),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(worker.communicate(), timeout=120)
    assert worker.returncode == 0, stderr.decode()

    messages = []
    while True:
        message = await communicator.receive_json_from(timeout=30)
        messages.append(message)
        if message["kind"] == "engine_breaker":
            break
    assert message["payload"]["state"] == "OPEN" and message["payload"]["consecutive_failures"] == 5
    event = next(
        m for m in messages if m["kind"] == "event" and m["payload"]["kind"] == "breaker.engine"
    )
    assert (event["payload"]["from_state"], event["payload"]["to_state"]) == ("CLOSED", "OPEN")
    await communicator.disconnect(timeout=20)  # leaving the group is a Redis round trip
