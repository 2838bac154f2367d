"""The console's tunables: where notifications go."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from healing.tunables import Tunable, register


@dataclass(frozen=True)
class UrlTunable(Tunable):
    """A string that must be empty (off) or an http(s) URL."""

    def clean(self, raw: Any) -> Any:
        value = super().clean("" if raw is None else raw).strip()
        if value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise ValidationError(f"{self.key}: {value!r} is not an http(s) URL.") from None
        return value


register(
    UrlTunable(
        "notifications.webhook_url",
        os.environ.get("SELFHEAL_WEBHOOK_URL", ""),
        "Notifications",
        "POST a JSON notice here when a patch awaits approval, a breaker opens, a rollback happens "
        "or the engine is stopped. Empty: no webhook. Default from SELFHEAL_WEBHOOK_URL.",
        kind=str,
    ),
    Tunable(
        "notifications.email_enabled",
        True,
        "Notifications",
        "E-mail the same notices to reviewers (patches awaiting approval) and operators (breakers, "
        "rollbacks, emergency stops) who have an address.",
        kind=bool,
    ),
)

register(
    UrlTunable(
        "notifications.chat_url",
        os.environ.get("SELFHEAL_CHAT_URL", ""),
        "Notifications",
        "Post patches awaiting approval to chat with Approve/Reject buttons: the platform's "
        "post-message endpoint (Slack: https://slack.com/api/chat.postMessage). Empty: no chat. "
        "Default from SELFHEAL_CHAT_URL.",
        kind=str,
    ),
    Tunable(
        "notifications.chat_channel",
        os.environ.get("SELFHEAL_CHAT_CHANNEL", ""),
        "Notifications",
        "The chat channel the notices go to.",
        kind=str,
    ),
    Tunable(
        "notifications.action_link_ttl_s",
        72 * 3600,
        "Notifications",
        "How long an approve/reject link in a notification works, in seconds (each works once). "
        "Read when the link is clicked: shortening it also shortens links already sent.",
        kind=int,
        min=1,
        max=30 * 24 * 3600,
        unit="s",
    ),
)
