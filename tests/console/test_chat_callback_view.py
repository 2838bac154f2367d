"""Approve/Reject buttons in chat, end to end over HTTP: our notice goes to a chat platform on
loopback (tests/chat_helpers.py), the platform sends signed block_actions callbacks to Selfheal
(live server) as Slack documents them, and receives the message update at its response_url."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from approvals import tasks as approvals_tasks
from approvals.actions import do_map_chat_user
from approvals.models import Approval, Decision
from healing.actions import do_change_setting
from healing.models import AuditEvent, Modification
from selfheal_site.celery import app
from tests import factories
from tests.chat_helpers import BOT_TOKEN, SIGNING_SECRET, ChatPlatform, running_platform
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(settings: Any, admin_user: Any) -> Iterator[ChatPlatform]:
    settings.CHAT_SIGNING_SECRET = SIGNING_SECRET
    settings.CHAT_BOT_TOKEN = BOT_TOKEN
    settings.CHAT_RESPONSE_HOSTS = ["127.0.0.1"]
    settings.SITE_URL = "https://selfheal.example"
    # Eager mode runs only registered tasks (a name this process never imported goes to the
    # broker, where no worker listens here): the message update is approvals' own task.
    assert approvals_tasks.post_chat_response.name == "approvals.post_chat_response"
    app.conf.task_always_eager = True
    with running_platform() as chat:
        do_change_setting(admin_user, "notifications.chat_url", chat.post_url)
        do_change_setting(admin_user, "notifications.chat_channel", "C-REVIEWS")
        yield chat
    app.conf.task_always_eager = False


@pytest.fixture
def callback(live_server: Any) -> str:
    return f"{live_server.url}/integrations/chat/actions/"


@pytest.fixture
def rita(reviewer: Any, admin_user: Any) -> Any:
    do_map_chat_user(admin_user, "U_RITA", reviewer)
    return reviewer


def _held(workspace: Any, platform: ChatPlatform, level: str = "MEDIUM_RISK") -> tuple[Any, Any]:
    mod = awaiting(workspace, level, patch_id=f"chat-{level.lower()}")
    message = platform.posted[-1]
    return mod, message


def _untouched(mod: Modification) -> None:
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert not Approval.objects.filter(modification=mod).exists()


def test_it_posts_the_notice_with_buttons_bound_to_the_patch(
    workspace: Any, platform: ChatPlatform
) -> None:
    mod, message = _held(workspace, platform)
    assert len(platform.posted) == 1 and platform.auth == [f"Bearer {BOT_TOKEN}"]
    assert message["channel"] == "C-REVIEWS" and mod.patch_id in message["text"]
    assert "thread_ts" not in message
    buttons = {
        e["action_id"]: e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert set(buttons) == {"approve", "reject"}
    assert buttons["approve"]["value"] == f"{mod.pk}:{mod.review_digest()}"
    assert f"https://selfheal.example/patches/{mod.pk}/" in message["blocks"][0]["text"]["text"]


def test_it_approves_on_a_signed_click_and_updates_the_message(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    status, answer, response_url = platform.click(callback, message, "approve", "U_RITA")
    assert status == 200 and answer["ok"] is True
    # Approved, then the pipeline goes on (with eager tasks it may even have run to its end: this
    # made-up patch has no base commit, so the apply sends it back through validation).
    approval = Approval.objects.get(modification=mod)
    assert approval.user == rita and approval.decision == Decision.APPROVE
    assert AuditEvent.objects.filter(
        modification_id=mod.pk,
        kind="modification.transition",
        from_state="awaiting_approval",
        to_state="approved",
        actor=rita,
    ).exists()
    [update] = platform.updates_for(response_url)
    assert update["replace_original"] is True
    assert f"{mod.patch_id} approved." in update["text"] and "<@U_RITA>" in str(update["blocks"])


def test_it_sends_the_bot_token_to_no_response_url(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    # The response_url comes from the callback's payload: it is not ours to hand our token to.
    mod, message = _held(workspace, platform)
    status, _, response_url = platform.click(callback, message, "approve", "U_RITA")
    assert status == 200 and platform.updates_for(response_url)
    assert platform.update_auth == [""]
    assert platform.auth == [f"Bearer {BOT_TOKEN}"]


def test_it_answers_a_response_url_only_over_https_off_this_machine(settings: Any) -> None:
    from approvals.chat import response_url_allowed

    settings.CHAT_RESPONSE_HOSTS = ["hooks.slack.com", "127.0.0.1"]
    assert response_url_allowed("https://hooks.slack.com/actions/T1/1/x")
    assert not response_url_allowed("http://hooks.slack.com/actions/T1/1/x")
    assert response_url_allowed("http://127.0.0.1:8080/actions/response/1")
    assert not response_url_allowed("https://evil.example/actions/response/1")


def test_it_rejects_on_a_signed_click(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    status, _, response_url = platform.click(callback, message, "reject", "U_RITA")
    assert status == 200
    assert Modification.objects.get(pk=mod.pk).status == "rejected"
    assert "rejected" in platform.updates_for(response_url)[0]["text"]


def test_it_refuses_a_wrong_signature(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    status, answer, response_url = platform.click(
        callback, message, "approve", "U_RITA", secret="not-the-secret"
    )
    assert status == 401 and "signature" in answer["error"].lower()
    _untouched(mod)
    assert platform.updates_for(response_url, wait=0.5) == []


def test_it_refuses_a_stale_timestamp(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    # Correctly signed, but captured six minutes ago and replayed now.
    status, answer, _ = platform.click(
        callback, message, "approve", "U_RITA", timestamp=int(time.time()) - 6 * 60
    )
    assert status == 401 and "stale" in answer["error"].lower()
    _untouched(mod)


def test_it_refuses_an_unmapped_chat_user(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    status, answer, response_url = platform.click(callback, message, "approve", "U_STRANGER")
    assert status == 200 and answer["ok"] is False
    _untouched(mod)
    [update] = platform.updates_for(response_url)
    assert update["response_type"] == "ephemeral" and update["replace_original"] is False
    assert "not linked" in update["text"]


@pytest.mark.parametrize("role", [None, "agent"])
def test_it_refuses_a_chat_user_without_the_reviewer_role(
    workspace: Any, platform: ChatPlatform, callback: str, admin_user: Any, role: str | None
) -> None:
    do_map_chat_user(admin_user, "U_OTTO", factories.make_user("otto", role=role))
    mod, message = _held(workspace, platform)
    status, answer, _ = platform.click(callback, message, "approve", "U_OTTO")
    assert status == 200 and answer["ok"] is False
    _untouched(mod)


def test_it_refuses_a_click_on_a_version_that_changed(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform)
    stale = f"{mod.pk}:{'0' * 64}"  # a message about an earlier version of the patch
    for action in ("approve", "reject"):
        status, answer, _ = platform.click(callback, message, action, "U_RITA", value=stale)
        assert (
            status == 200 and answer["ok"] is False and "not what you reviewed" in answer["detail"]
        )
    _untouched(mod)


def test_it_sends_a_patch_that_needs_a_comment_to_its_page(
    workspace: Any, platform: ChatPlatform, callback: str, rita: Any
) -> None:
    mod, message = _held(workspace, platform, "HIGH_RISK")
    status, answer, _ = platform.click(callback, message, "approve", "U_RITA")
    assert answer["ok"] is False and f"/patches/{mod.pk}/" in answer["detail"]
    _untouched(mod)


def test_it_answers_400_to_a_signed_body_that_is_not_a_callback(
    platform: ChatPlatform, callback: str
) -> None:
    import hashlib
    import hmac
    import urllib.error
    import urllib.request

    body = b"payload=%7Bnot-json"
    stamp = str(int(time.time()))
    sig = (
        "v0="
        + hmac.new(
            SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256
        ).hexdigest()
    )
    request = urllib.request.Request(
        callback,
        data=body,
        method="POST",
        headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
