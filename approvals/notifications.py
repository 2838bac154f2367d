"""Notices for people: one per audit event that needs someone, by e-mail, webhook and chat.

An audit event is notifiable when a rule below says so. After the event commits, a Celery task
sends it; a NotificationSent row per (event, channel) is claimed first, so a retried task, a
second worker or a repeated signal never sends the same notice twice.

A patch awaiting approval carries, for each reviewer it goes to, approve and reject links bound to
that reviewer (approvals.links); in chat it carries Approve/Reject buttons (approvals.chat).
Notices about one patch are threaded: e-mails reply to the patch's first one (Message-ID,
In-Reply-To, References), chat messages go to the thread of its first message (thread_ts).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.db import transaction

from healing import tunables
from healing.models import AuditEvent, Modification
from healing.models.modification import ModificationStatus
from healing.roles import Role, has_role

from . import chat
from .actions import do_claim_notice, do_finish_notice, do_issue_action_links, do_open_thread
from .links import link_url


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    path: str  # where a person can act
    audience: Role
    awaits_approval: bool = False

    @property
    def url(self) -> str:
        return settings.SITE_URL.rstrip("/") + self.path


def _patch_label(event: AuditEvent) -> str:
    return (event.data or {}).get("patch_id") or f"#{event.modification_id}"


def notice_for(event: AuditEvent) -> Notice | None:
    """The rules: which events need a person, and where that person acts."""
    kind, to_state = event.kind, event.to_state
    if (
        event.modification_id
        and kind == "modification.transition"
        and to_state == "awaiting_approval"
    ):
        return Notice(
            f"[Selfheal] Patch {_patch_label(event)} awaits approval",
            f"Patch {_patch_label(event)} awaits a reviewer's decision. {event.reason}".strip(),
            f"/patches/{event.modification_id}/",
            Role.REVIEWER,
            awaits_approval=True,
        )
    if kind == "engine.emergency_stop":
        return Notice(
            "[Selfheal] Emergency stop",
            f"The engine was emergency-stopped by {event.actor_label}: {event.reason}",
            "/",
            Role.OPERATOR,
        )
    # breaker.circuit closed→open, breaker.engine CLOSED→OPEN; the workspace summary
    # state that follows a circuit (SYNTAX_OPEN...) is the same opening, so it is not notified again.
    if kind.startswith("breaker.") and to_state.lower() == "open":
        data = event.data or {}
        subject = (
            data.get("breaker")
            or data.get("error_type")
            or ("engine-wide" if kind == "breaker.engine" else kind)
        )
        return Notice(
            f"[Selfheal] Circuit breaker opened: {subject}",
            f"A circuit breaker opened ({subject}). {event.reason}".strip(),
            "/",
            Role.OPERATOR,
        )
    automatic = not event.actor_label.startswith("user:")
    if (
        event.modification_id
        and automatic
        and (
            to_state == "rolled_back"
            or kind in {"modification.rollback", "apply.rollback", "rollback.automatic"}
        )
    ):
        return Notice(
            f"[Selfheal] Automatic rollback of {_patch_label(event)}",
            f"Patch {_patch_label(event)} was rolled back automatically: {event.reason}",
            f"/patches/{event.modification_id}/",
            Role.OPERATOR,
        )
    return None


def queue_notice(event: AuditEvent) -> None:
    """Called for every new audit event (post_save); notifiable ones go to Celery after commit."""
    if notice_for(event) is None:
        return
    event_id = event.pk

    def _send() -> None:
        from healing.queueing import send_later

        # A down broker must not fail (nor, via the result backend's retries, stall) the change.
        send_later("approvals.send_notifications", event_id)

    transaction.on_commit(_send)


def _audience(audience: Role) -> list[Any]:
    names = {
        Role.REVIEWER: ["reviewer", "operator", "admin"],
        Role.OPERATOR: ["operator", "admin"],
    }[audience]
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=names)
        .distinct()
        .order_by("username")
    )


def _deciders(modification: Modification, users: list[Any]) -> list[Any]:
    """Who gets links: reviewers who may decide on this patch (never its submitter, never an
    agent account). Everyone else still gets the notice, without links."""
    return [
        u
        for u in users
        if has_role(u, Role.REVIEWER)
        and not has_role(u, Role.AGENT)
        and u.pk != modification.submitted_by_id
    ]


def post_webhook(url: str, body: dict[str, Any], timeout: float = 5.0) -> int:
    request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s) by its tunable
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "selfheal.localhost"


def _emails(
    notice: Notice,
    event: AuditEvent,
    users: list[Any],
    links: dict[int, dict[str, str]],
) -> list[EmailMessage]:
    """One message per recipient (each carries only their own links), threaded per patch."""
    headers: dict[str, str] = {}
    if event.modification_id:
        message_id = make_msgid("selfheal", _mail_domain())
        root, first = do_open_thread(event.modification_id, "email", message_id)
        headers = {"Message-ID": root} if first else {"In-Reply-To": root, "References": root}
    messages = []
    for user in users:
        body = f"{notice.text}\n\nAct here: {notice.url}\n"
        mine = links.get(user.pk)
        if mine:
            body += (
                "\nYour one-time links (they ask you to confirm; each works once):\n"
                f"Approve: {link_url(mine['approve'])}\n"
                f"Reject: {link_url(mine['reject'])}\n"
            )
        messages.append(
            EmailMessage(notice.subject, body, None, [user.email], headers=dict(headers))
        )
    return messages


def _links_for(
    notice: Notice, event: AuditEvent, users: list[Any]
) -> tuple[Modification | None, dict[int, dict[str, str]]]:
    if not notice.awaits_approval or not event.modification_id:
        return None, {}
    modification = Modification.objects.filter(pk=event.modification_id).first()
    if modification is None or modification.status != ModificationStatus.AWAITING_APPROVAL:
        return modification, {}  # it moved on before we sent: links would only say so
    return modification, do_issue_action_links(modification, _deciders(modification, users))


def _post_chat(
    url: str, notice: Notice, event: AuditEvent, modification: Modification | None
) -> str:
    channel = str(tunables.get("notifications.chat_channel") or "")
    body: dict[str, Any] = {"channel": channel, "text": f"{notice.subject}\n{notice.text}"}
    if modification is not None and notice.awaits_approval:
        body["blocks"] = chat.approval_blocks(modification, notice.text, notice.url)
    thread = None
    if event.modification_id:
        from .models import NotificationThread

        thread = (
            NotificationThread.objects.filter(modification_id=event.modification_id, channel="chat")
            .values_list("ref", flat=True)
            .first()
        )
        if thread:
            body["thread_ts"] = thread
    answer = chat.post_json(url, body, bot_token=True)
    if answer.get("ok") is False:
        raise RuntimeError(f"chat answered: {answer.get('error', 'not ok')}")
    ts = str(answer.get("ts") or "")
    if event.modification_id and not thread and ts:
        do_open_thread(event.modification_id, "chat", ts)
    return ts


def send_notices(event_id: int) -> list[str]:
    """Send the event's notice on every configured channel once; returns the channels used now."""
    event = AuditEvent.objects.filter(pk=event_id).first()
    notice = notice_for(event) if event is not None else None
    if event is None or notice is None:
        return []
    sent: list[str] = []
    values = tunables.get_many(
        ["notifications.webhook_url", "notifications.email_enabled", "notifications.chat_url"]
    )
    url = values["notifications.webhook_url"]
    users = _audience(notice.audience)
    mail_to = [u for u in users if u.email] if values["notifications.email_enabled"] else []
    modification, links = (
        _links_for(notice, event, users if url else mail_to) if (mail_to or url) else (None, {})
    )
    if mail_to and (row := do_claim_notice(event, "email")) is not None:
        try:
            count = get_connection().send_messages(_emails(notice, event, mail_to, links))
        except Exception as exc:  # noqa: BLE001 - recorded on the row; mail is not ours
            do_finish_notice(row, False, f"{type(exc).__name__}: {exc}")
        else:
            do_finish_notice(row, True, f"to {count} recipient(s)")
            sent.append("email")
    if url and (row := do_claim_notice(event, "webhook")) is not None:
        body = {
            "event_id": event.pk,
            "kind": event.kind,
            "subject": notice.subject,
            "text": notice.text,
            "url": notice.url,
            "created_at": event.created_at.isoformat(),
            "workspace_id": event.workspace_id,
            "modification_id": event.modification_id,
            # Each link works only in its reviewer's own session (see approvals.links).
            "action_links": [
                {
                    "reviewer": u.get_username(),
                    "approve": link_url(links[u.pk]["approve"]),
                    "reject": link_url(links[u.pk]["reject"]),
                }
                for u in users
                if u.pk in links
            ],
        }
        try:
            status = post_webhook(url, body)
        except Exception as exc:  # noqa: BLE001 - the receiver is not ours; recorded on the row
            do_finish_notice(row, False, f"{type(exc).__name__}: {exc}")
        else:
            do_finish_notice(row, 200 <= status < 300, f"HTTP {status}")
            sent.append("webhook")
    chat_url = values["notifications.chat_url"]
    if chat_url and (row := do_claim_notice(event, "chat")) is not None:
        if modification is None and event.modification_id:
            modification = Modification.objects.filter(pk=event.modification_id).first()
        try:
            ts = _post_chat(chat_url, notice, event, modification)
        except Exception as exc:  # noqa: BLE001 - the platform is not ours; recorded on the row
            do_finish_notice(row, False, f"{type(exc).__name__}: {exc}")
        else:
            do_finish_notice(row, True, f"ts {ts}")
            sent.append("chat")
    return sent
