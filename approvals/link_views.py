"""Deciding from where people are: the page a notification's link opens, and the chat platform's
callback for a button click. Thin: judge the request, call the action, answer."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from healing.actors import signed_in
from healing.models import Modification
from healing.queueing import send_later

from . import chat
from .access import reviewer_required
from .actions import ApprovalRefused, comment_required, do_decide_by_link, do_decide_from_chat
from .diffview import reviewed_diff
from .links import expires_at, find_link, link_problem


def _summary(mod: Modification) -> dict[str, Any]:
    """What a reviewer needs to decide from the link: level, rule, findings, score, diff size."""
    severities: Counter[str] = Counter()
    for stage in (mod.validation or {}).values() if isinstance(mod.validation, dict) else []:
        for finding in (stage or {}).get("findings") or [] if isinstance(stage, dict) else []:
            if isinstance(finding, dict):
                severities[str(finding.get("severity", "unknown"))] += 1
    # The diff the review page shows (git's, once validation has it), read hunk by hunk: a
    # removed line that starts with "-- " is a removed line, not a file header.
    diff, _ = reviewed_diff(mod.diff, mod.validation)
    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        patch = PatchSet("")
    return {
        "findings": sorted(severities.items()),
        "findings_total": sum(severities.values()),
        "files": len(patch),
        "added": sum(f.added for f in patch),
        "removed": sum(f.removed for f in patch),
    }


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, "approvals/action_link.html", context, status=status)
    # The token is in the URL: never sent to another site as a Referer, never cached. Not
    # no-referrer: Chromium then posts the form with "Origin: null", which CSRF rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


@reviewer_required
@require_http_methods(["GET", "POST"])
def action_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the patch and asks; only the POST (CSRF-protected) decides. Anonymous visitors
    are sent to the login page and come back here; the role is checked again at the click."""
    link = find_link(token)
    if link is None:
        return _page(request, {"error": "This link is not valid."}, 404)
    mod = link.modification
    context: dict[str, Any] = {
        "link": link,
        "mod": mod,
        "summary": _summary(mod),
        "comment_required": comment_required(mod),
        "expires_at": expires_at(link),
    }
    if request.method == "POST":
        try:
            outcome = do_decide_by_link(token, signed_in(request), request.POST.get("comment", ""))
        except ApprovalRefused as exc:
            status = {"wrong_user": 403, "used": 410, "expired": 410, "comment_required": 400}
            context.update(error=exc.message, code=exc.code)
            if exc.code == "comment_required":
                context["can_decide"] = True
            return _page(request, context, status.get(exc.code, 409))
        mod.refresh_from_db()
        return _page(request, {**context, "outcome": outcome.message, "mod": mod})
    problem = link_problem(link, signed_in(request))
    if problem is not None:
        return _page(
            request, {**context, "error": problem.message, "code": problem.code}, problem.status
        )
    return _page(request, {**context, "can_decide": True})


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # the platform signs the request instead: verified before anything is read
@require_POST
def chat_actions(request: HttpRequest) -> HttpResponse:
    body = request.body
    why = chat.verify(
        settings.CHAT_SIGNING_SECRET,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
        body,
    )
    if why:
        return _refused(why, 401)
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0])
        if payload.get("type") != "block_actions":
            raise ValueError(payload.get("type"))
        chat_user = str(payload["user"]["id"])
        action = payload["actions"][0]
        action_id = str(action["action_id"])
        value = chat.parse_button_value(str(action["value"]))
        response_url = str(payload.get("response_url") or "")
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        return _refused("The payload is not a block_actions callback.", 400)
    if value is None:
        return _refused("The button's value does not name a patch and digest.", 400)
    pk, digest = value
    try:
        outcome = do_decide_from_chat(chat_user, action_id, pk, digest)
    except ApprovalRefused as exc:
        detail = exc.message
        if exc.code == "comment_required":
            detail += f" Decide on its page: {settings.SITE_URL.rstrip('/')}/patches/{pk}/"
        # Only the clicker sees why; the message stays for the other reviewers.
        reply = {"response_type": "ephemeral", "replace_original": False, "text": detail}
        ok = False
    else:
        detail = outcome.message
        reply = {
            "replace_original": True,
            "text": detail,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": detail}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"by <@{chat_user}>"}],
                },
            ],
        }
        ok = True
    if response_url and chat.response_url_allowed(response_url):
        transaction.on_commit(
            lambda: send_later("approvals.post_chat_response", response_url, reply)
        )
    # The platform wants a quick 200; the outcome goes to response_url.
    return JsonResponse({"ok": ok, "detail": detail})
