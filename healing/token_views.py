"""The console's API tokens page (admins): list keys with their last use, expiry and grant;
issue, rotate, revoke and grant. A new key is shown in the answer to the POST that made it and
nowhere else (no redirect, no message store: the session would keep it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .actions.tokens import (
    UnknownWorkspace,
    do_create_token,
    do_grant_workspaces,
    do_revoke_token,
    do_rotate_token,
)
from .actors import signed_in
from .models import ApiToken
from .roles import Role, has_role

MAX_EXPIRY_DAYS = 3650


def _require_admin(request: HttpRequest) -> User:
    """The signed-in admin (the actor of every change here), or a 403."""
    if not has_role(request.user, Role.ADMIN):
        raise PermissionDenied("API tokens are managed by admins.")
    return signed_in(request)


def _names(raw: str) -> list[str]:
    return sorted({n.strip() for n in raw.replace("\n", ",").split(",") if n.strip()})


def _page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    tokens = ApiToken.objects.select_related("user").prefetch_related("workspaces")
    return render(request, "healing/tokens.html", {"tokens": tokens, **extra}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    admin = _require_admin(request)
    if request.method == "GET":
        return _page(request)
    errors: list[str] = []
    username = request.POST.get("username", "").strip()
    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is None:
        errors.append(
            f"No account named {username!r}; create one with manage.py create_api_user."
            if username
            else "Name the account the key is for."
        )
    raw_days = request.POST.get("expires_days", "").strip()
    expires_at = None
    if raw_days:
        if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_EXPIRY_DAYS:
            errors.append(f"Expiry: a whole number of days, 1 to {MAX_EXPIRY_DAYS}, or empty.")
        else:
            expires_at = timezone.now() + timedelta(days=int(raw_days))
    if user is not None and not errors:
        try:
            token, key = do_create_token(
                admin,
                user,
                name=request.POST.get("name", "").strip()[:100],
                expires_at=expires_at,
                workspaces=_names(request.POST.get("workspaces", "")),
            )
        except UnknownWorkspace as exc:
            errors.append(str(exc))
        else:
            return _page(request, status=201, new_key=key, new_token=token)
    return _page(request, status=400, errors=errors, form=request.POST)


@never_cache
@require_POST
def token_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    admin = _require_admin(request)
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    try:
        key = do_rotate_token(admin, token)
    except ValueError as exc:
        return _page(request, status=409, errors=[str(exc)])
    token.refresh_from_db()
    return _page(request, new_key=key, new_token=token)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    admin = _require_admin(request)
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    reason = request.POST.get("reason", "").strip()[:2000]
    if do_revoke_token(admin, token, reason=reason):
        messages.success(request, f"Revoked {token.prefix}… of {token.user.get_username()}.")
    else:
        messages.info(request, "That token was already revoked.")
    return redirect("tokens")


@require_POST
def token_grant(request: HttpRequest, pk: int) -> HttpResponse:
    admin = _require_admin(request)
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    try:
        granted = do_grant_workspaces(admin, token, _names(request.POST.get("workspaces", "")))
    except UnknownWorkspace as exc:
        return _page(request, status=400, errors=[str(exc)])
    messages.success(
        request,
        f"{token.prefix}… may submit to: {', '.join(granted)}."
        if granted
        else f"{token.prefix}… has no grant: every workspace no other token was granted.",
    )
    return redirect("tokens")
