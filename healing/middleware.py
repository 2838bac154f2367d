"""Login is required on every page. The API answers 401/403 itself (DRF), so it is let through
here; /healthz and /metrics carry no secrets and are polled by machines."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

OPEN_PREFIXES = (
    "/login/",
    "/healthz",
    "/static/",
    "/api/",
    "/metrics",
    "/admin/login/",
    "/favicon.ico",
)


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(OPEN_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
