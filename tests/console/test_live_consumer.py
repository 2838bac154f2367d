from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from healing.actions.tokens import do_revoke_token, do_rotate_token
from healing.broadcast import send_now, workspace_group
from healing.models import ApiToken, hash_key
from tests import factories
from tests.console_helpers import live_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> Any:
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


async def _token(role: str | None) -> str:
    user = await database_sync_to_async(factories.make_user)(None, role)
    return await database_sync_to_async(factories.token_for)(user)


async def _open(token: str) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = live_socket(token)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_it_greets_a_reviewer_with_the_engine_state() -> None:
    communicator, connected, _ = await _open(await _token("reviewer"))
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["kind"] == "hello" and hello["payload"]["engine"]["state"] == "running"
    await communicator.disconnect()


@pytest.mark.parametrize(("role", "code"), [("agent", 4403), (None, 4403)])
async def test_it_refuses_agents_and_people_without_a_role(role: str | None, code: int) -> None:
    communicator, connected, close_code = await _open(await _token(role))
    assert not connected and close_code == code


async def test_it_refuses_a_bad_token() -> None:
    communicator, connected, close_code = await _open("not-a-token")
    assert not connected and close_code == 4401


async def test_it_joins_a_workspace_group_on_request_and_delivers_its_events(tmp_path: Any) -> None:
    workspace = await database_sync_to_async(factories.make_workspace)(
        tmp_path / "repo", name="live-ws"
    )
    communicator, connected, _ = await _open(await _token("reviewer"))
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"action": "watch_workspace", "workspace_id": workspace.pk})
    assert (await communicator.receive_json_from(timeout=5)) == {
        "kind": "watching",
        "payload": {"workspace_id": workspace.pk},
    }
    payload = {
        "modification_id": 1,
        "tests_run": 3,
        "failures": 0,
        "elapsed_ms": 1200,
        "limit_ms": 60000,
    }
    await database_sync_to_async(send_now)(
        workspace_group(workspace.pk), "sandbox.progress", payload
    )
    assert (await communicator.receive_json_from(timeout=5)) == {
        "kind": "sandbox.progress",
        "payload": payload,
    }
    await communicator.disconnect()


async def test_it_answers_bad_messages_with_an_error_and_stays_open() -> None:
    communicator, _, _ = await _open(await _token("operator"))
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(text_data="not json")
    assert (await communicator.receive_json_from(timeout=5))["kind"] == "error"
    await communicator.send_json_to({"action": "watch_workspace", "workspace_id": "x"})
    assert (await communicator.receive_json_from(timeout=5))["kind"] == "error"
    await communicator.send_json_to({"action": "watch_workspace", "workspace_id": 999999})
    assert "no workspace" in (await communicator.receive_json_from(timeout=5))["payload"]["detail"]
    await communicator.send_json_to({"action": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["kind"] == "pong"
    await communicator.disconnect()


async def test_it_refuses_a_key_in_the_url_even_a_good_one() -> None:
    """URLs land in proxy logs and browser history: a key there is refused, not read."""
    key = await _token("reviewer")
    communicator = live_socket(path=f"/ws/live/?token={key}")
    connected, close_code = await communicator.connect(timeout=5)
    assert not connected and close_code == 4401


@pytest.mark.parametrize("how", ["revoked", "rotated"])
async def test_it_refuses_a_dead_key_in_the_header(how: str) -> None:
    key = await _token("reviewer")
    token = await database_sync_to_async(ApiToken.objects.get)(key_hash=hash_key(key))
    if how == "revoked":
        await database_sync_to_async(do_revoke_token)("user:ada", token)
    else:
        await database_sync_to_async(do_rotate_token)("user:ada", token)
    communicator, connected, close_code = await _open(key)
    assert not connected and close_code == 4401
