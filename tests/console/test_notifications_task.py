from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail

from approvals.models import NotificationSent
from approvals.tasks import send_notifications
from healing.actions import do_change_setting, do_emergency_stop, record_event, transition
from healing.models import AuditEvent
from tests import factories
from tests.console_helpers import awaiting, mail_in_process

pytestmark = pytest.mark.django_db


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook(admin_user: Any) -> Any:
    """A local HTTP server standing in for the receiver we do not own."""
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    do_change_setting(
        admin_user, "notifications.webhook_url", f"http://127.0.0.1:{server.server_port}/hook"
    )
    yield _Receiver.received
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def eager(settings: Any) -> Any:
    with mail_in_process(settings):
        yield


@pytest.fixture
def people(db: Any) -> Any:
    reviewer = factories.make_user("rev-mail", role="reviewer")
    reviewer.email = "rev@example.invalid"
    reviewer.save(update_fields=["email"])
    operator = factories.make_user("op-mail", role="operator")
    operator.email = "op@example.invalid"
    operator.save(update_fields=["email"])
    return reviewer, operator


def test_it_notifies_once_when_a_patch_awaits_approval(
    workspace: Any, people: Any, webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        mod = awaiting(workspace, "CRITICAL")
    # One message per reviewer: each carries only that reviewer's own links.
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert mod.patch_id in message.subject
        assert f"https://selfheal.example/patches/{mod.pk}/" in message.body
    assert sorted(m.to[0] for m in mail.outbox) == ["op@example.invalid", "rev@example.invalid"]
    assert all(len(m.to) == 1 for m in mail.outbox)
    assert len(webhook) == 1 and webhook[0]["url"] == f"https://selfheal.example/patches/{mod.pk}/"
    # Each reviewer's own one-time links, in their mail and in the webhook.
    links = {row["reviewer"]: row for row in webhook[0]["action_links"]}
    assert set(links) == {"rev-mail", "op-mail", "ada-admin"}  # the admin has no address
    for message in mail.outbox:
        mine = links["rev-mail" if message.to == ["rev@example.invalid"] else "op-mail"]
        assert f"Approve: {mine['approve']}" in message.body
        assert f"Reject: {mine['reject']}" in message.body
    assert links["rev-mail"]["approve"] not in " ".join(
        m.body for m in mail.outbox if m.to == ["op@example.invalid"]
    )
    # Asked again for the same event (a retry, a second worker): nothing more is sent.
    event = AuditEvent.objects.get(modification=mod, to_state="awaiting_approval")
    assert send_notifications(event.pk) == []
    assert len(mail.outbox) == 2 and len(webhook) == 1
    assert NotificationSent.objects.filter(event=event).count() == 2


def test_it_notifies_operators_of_an_emergency_stop(
    people: Any, webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _, operator = people
    with django_capture_on_commit_callbacks(execute=True):
        do_emergency_stop(operator, "runaway agent")
    assert [m.to for m in mail.outbox] == [["op@example.invalid"]]
    assert (
        "runaway agent" in mail.outbox[0].body
        and "https://selfheal.example/" in mail.outbox[0].body
    )
    assert webhook[0]["kind"] == "engine.emergency_stop"


def test_it_notifies_of_an_opened_breaker_and_an_automatic_rollback(
    workspace: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = factories.make_modification(workspace, status="applied")
    with django_capture_on_commit_callbacks(execute=True):
        # As the judgement area records them: the circuit, the workspace summary, the engine.
        record_event(
            "breaker.circuit",
            "system",
            workspace_id=workspace.pk,
            from_state="closed",
            to_state="open",
            data={"error_type": "syntax"},
        )
        record_event(
            "breaker.workspace", "system", workspace_id=workspace.pk, to_state="SYNTAX_OPEN"
        )
        record_event("breaker.engine", "system", from_state="CLOSED", to_state="OPEN")
        record_event("breaker.engine", "system", from_state="OPEN", to_state="HALF_OPEN")
        transition(mod, "rolled_back", "worker:host", "tests failed after apply")
    subjects = [m.subject for m in mail.outbox]
    breaker_subjects = [s for s in subjects if "Circuit breaker opened" in s]
    assert breaker_subjects == [
        "[Selfheal] Circuit breaker opened: syntax",
        "[Selfheal] Circuit breaker opened: engine-wide",
    ]
    assert any("Automatic rollback" in s for s in subjects)
    assert f"/patches/{mod.pk}/" in mail.outbox[-1].body


def test_it_stays_quiet_for_ordinary_events_and_human_rollbacks(
    workspace: Any, people: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = factories.make_modification(workspace, status="applied")
    with django_capture_on_commit_callbacks(execute=True):
        record_event("note.other", "system")
        transition(mod, "rolled_back", reviewer, "I undid it myself")
    assert mail.outbox == []


def test_it_records_a_failing_webhook_without_raising(
    workspace: Any, people: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    do_change_setting(admin_user, "notifications.webhook_url", "http://127.0.0.1:9/closed")
    with django_capture_on_commit_callbacks(execute=True):
        awaiting(workspace, "LOW_RISK")
    row = NotificationSent.objects.get(channel="webhook")
    assert row.ok is False and row.detail
    assert len(mail.outbox) == 2  # the e-mails (one per reviewer) still went
