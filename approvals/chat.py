"""Chat in the style of Slack's interactive messages: what we post, and how a callback is trusted.

We post with the bot token to the configured post-message URL (Slack's chat.postMessage: JSON
body, `ts` in the answer, `thread_ts` to reply in a thread). A button click comes back as a
form-encoded `payload`, signed as Slack documents: X-Slack-Signature is
"v0=" + hex HMAC-SHA256(signing secret, "v0:{X-Slack-Request-Timestamp}:{raw body}"), and the
timestamp must be within five minutes (a captured request cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from healing.models import Modification

MAX_SKEW_S = 5 * 60


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str | None, given: str | None, body: bytes, now: float | None = None
) -> str:
    """'' if the request is the platform's and fresh, else why not."""
    if not secret:
        return "The chat integration is not configured (no signing secret)."
    if not timestamp or not given:
        return "Missing signature headers."
    try:
        stamp = int(timestamp)
    except ValueError:
        return "Bad timestamp."
    if abs((time.time() if now is None else now) - stamp) > MAX_SKEW_S:
        return "Stale timestamp: the request is older than five minutes."
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return "Bad signature."
    return ""


def button_value(modification: Modification) -> str:
    return f"{modification.pk}:{modification.review_digest()}"


def parse_button_value(value: str) -> tuple[int, str] | None:
    pk, _, digest = (value or "").partition(":")
    if not pk.isdigit() or len(digest) != 64:
        return None
    return int(pk), digest


def approval_blocks(modification: Modification, text: str, url: str) -> list[dict[str, Any]]:
    """Block Kit: the summary and the two buttons (values carry the patch and its digest)."""
    value = button_value(modification)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n<{url}|Review it>"}},
        {
            "type": "actions",
            "block_id": f"decide-{modification.pk}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": value,
                },
            ],
        },
    ]


def post_json(
    url: str, body: dict[str, Any], timeout: float = 5.0, *, bot_token: bool = False
) -> dict[str, Any]:
    """POST JSON; the platform's JSON answer ({} if it sent none). The bot token goes only
    where asked (our own chat URL): a callback's response_url needs none, and must not get it."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if bot_token and settings.CHAT_BOT_TOKEN:
        headers["Authorization"] = f"Bearer {settings.CHAT_BOT_TOKEN}"
    request = urllib.request.Request(  # noqa: S310 - http(s) only: a tunable or an allowed host
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        raw = response.read()
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def response_url_allowed(url: str) -> bool:
    """A callback's response_url is posted to only on the platform's own hosts: a signed payload
    is trusted, but we do not become a relay to anywhere a payload names."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    # Plain http only on this machine's loopback (a local platform); anywhere else, https.
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)
    return secure and host in set(settings.CHAT_RESPONSE_HOSTS)


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
