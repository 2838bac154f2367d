"""One notice per event, grouped per patch: e-mails about a patch reply to its first one
(Message-ID / In-Reply-To / References), chat messages go to its first message's thread."""

from __future__ import annotations

import email
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail

from approvals.tasks import send_notifications
from healing.actions import do_change_setting, transition
from healing.models import AuditEvent
from selfheal_site.celery import app
from tests.chat_helpers import BOT_TOKEN, ChatPlatform, running_platform
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db

RITA = "rita@example.invalid"


@pytest.fixture(autouse=True)
def eager(settings: Any, reviewer: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://selfheal.example"
    settings.CHAT_BOT_TOKEN = BOT_TOKEN
    reviewer.email = RITA
    reviewer.save(update_fields=["email"])
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def platform(admin_user: Any) -> Iterator[ChatPlatform]:
    with running_platform() as chat:
        do_change_setting(admin_user, "notifications.chat_url", chat.post_url)
        yield chat


def _held_again(mod: Any) -> None:
    """HEAD moved: the patch is re-validated and held for a reviewer again."""
    transition(mod, "validating", "system", "HEAD moved")
    transition(mod, "sandboxing", "system")
    transition(mod, "awaiting_approval", "system", "held again")


def _to_rita() -> list[Any]:
    return [m for m in mail.outbox if m.to == [RITA]]


def test_it_threads_the_mails_about_one_patch(
    workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = awaiting(workspace, "MEDIUM_RISK", patch_id="p-1")
        other = awaiting(workspace, "LOW_RISK", patch_id="p-2")
    with django_capture_on_commit_callbacks(execute=True):
        _held_again(first)
    one, two, again = _to_rita()
    assert "p-1" in one.subject and "p-2" in two.subject and "p-1" in again.subject
    root = one.extra_headers["Message-ID"]
    assert root.startswith("<") and root.endswith("@selfheal.example>")
    assert "In-Reply-To" not in one.extra_headers
    assert again.extra_headers["In-Reply-To"] == root
    assert again.extra_headers["References"] == root
    # The header is on the wire, not only in our object.
    wire = email.message_from_string(again.message().as_string())
    assert wire["In-Reply-To"].strip() == root and wire["References"].strip() == root
    assert email.message_from_string(one.message().as_string())["Message-ID"].strip() == root
    # Another patch is another thread.
    assert two.extra_headers["Message-ID"] != root and "In-Reply-To" not in two.extra_headers
    assert other.pk != first.pk


def test_it_threads_the_chat_messages_about_one_patch(
    workspace: Any, platform: ChatPlatform, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = awaiting(workspace, "MEDIUM_RISK", patch_id="p-1")
        awaiting(workspace, "LOW_RISK", patch_id="p-2")
    with django_capture_on_commit_callbacks(execute=True):
        _held_again(first)
    one, two, again = platform.posted
    assert "thread_ts" not in one and "thread_ts" not in two
    # Slack answered the first post with its ts; the later notice replies in that thread.
    assert again["thread_ts"] == "1700000000.000100"
    assert "p-1" in again["text"]


def test_it_sends_one_notice_per_event_and_channel(
    workspace: Any, platform: ChatPlatform, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        mod = awaiting(workspace, "MEDIUM_RISK", patch_id="p-1")
    event = AuditEvent.objects.get(modification=mod, to_state="awaiting_approval")
    assert send_notifications(event.pk) == []  # a retry or a second worker
    assert len(platform.posted) == 1 and len(_to_rita()) == 1
