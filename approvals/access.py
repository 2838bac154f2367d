"""Role checks for the console's pages. Anonymous visitors are sent to the login page by
healing.middleware; a signed-in user without the role gets a plain 403 page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from healing.roles import Role, has_role

# The roles that use the browser console; agents talk to the API only.
CONSOLE_ROLES = (Role.REVIEWER, Role.OPERATOR, Role.ADMIN)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "approvals/forbidden.html", {"message": message}, status=403)


def require_role(
    *roles: Role,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    names = " or ".join(r.value for r in roles)

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                from django.conf import settings
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not any(has_role(request.user, role) for role in roles):
                return forbidden(request, f"This page needs the {names} role.")
            return view(request, *args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


console_user = require_role(*CONSOLE_ROLES)
reviewer_required = require_role(Role.REVIEWER)
operator_required = require_role(Role.OPERATOR)
admin_required = require_role(Role.ADMIN)
