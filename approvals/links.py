"""Approve/reject links in notifications: how a token is made, found and judged.

A link is a random token (256 bits) whose sha256 is an ActionLink row. It is single-use (the row's
used_at, claimed by a conditional update in `do_decide_by_link`), expires (created_at plus the
tunable `notifications.action_link_ttl_s`, read at click time so shortening it takes effect on
links already sent), and is bound to one reviewer, one patch and the review digest the notice
described.

The link does not log anyone in: it needs the reviewer's own session (anyone else is sent to the
login page and comes back to the link). A mail forwarded, a link scanner or a proxy log that sees
the URL therefore cannot approve anything. The cost: a reviewer on a phone without a session signs
in once. Opening a link (GET) never decides; only the confirming POST (CSRF-protected) does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from healing import tunables
from healing.models import Modification, hash_key
from healing.models.modification import ModificationStatus

from .models import ActionLink


def new_token() -> str:
    return secrets.token_urlsafe(32)


def link_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("action-link", args=[token])


def find_link(token: str) -> ActionLink | None:
    if not token or len(token) > 100:
        return None
    return (
        ActionLink.objects.select_related("modification", "modification__workspace", "user")
        .filter(token_hash=hash_key(token))
        .first()
    )


def expires_at(link: ActionLink) -> datetime:
    ttl = int(tunables.get("notifications.action_link_ttl_s"))
    return link.created_at + timedelta(seconds=ttl)


@dataclass(frozen=True)
class LinkProblem:
    """Why a link cannot be used, as the page says it; `status` is the HTTP answer."""

    code: str
    message: str
    status: int


def link_problem(link: ActionLink, user: User) -> LinkProblem | None:
    """What stops this link from deciding now, checked in order of what a reviewer can act on."""
    if link.user_id != user.pk:
        return LinkProblem(
            "wrong_user",
            "This link was sent to another reviewer. Open the patch from the console instead.",
            403,
        )
    if link.used_at is not None:
        return LinkProblem("used", "This link was used already; each link works once.", 410)
    if timezone.now() >= expires_at(link):
        return LinkProblem(
            "expired", "This link has expired. Open the patch from the console instead.", 410
        )
    mod: Modification = link.modification
    if mod.status != ModificationStatus.AWAITING_APPROVAL:
        return LinkProblem(
            "moved_on",
            f"{mod.patch_id} is {mod.get_status_display().lower()} now, no longer awaiting "
            "approval: nothing to decide.",
            409,
        )
    if mod.review_digest() != link.digest:
        return LinkProblem(
            "changed",
            f"{mod.patch_id} changed since this notice was sent (its diff, base commit, safety "
            "level or findings): review it again on its page.",
            409,
        )
    return None
