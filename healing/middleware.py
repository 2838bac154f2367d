"""Login is required on every page. The API answers 401/403 itself (DRF), so it is let through
here; /healthz and /metrics carry no secrets and are polled by machines.

A database that is down is answered with 503 and a clear message, never a 500: the API and the
machine endpoints get JSON, pages a static page rendered without touching the database."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template
from django.views import defaults

log = logging.getLogger(__name__)

OPEN_PREFIXES = (
    "/login/",
    "/healthz",
    "/static/",
    "/api/",
    "/metrics",
    "/admin/login/",
    "/favicon.ico",
    # Signed by the chat platform (approvals.chat verifies it); no session there.
    "/integrations/chat/",
)
MACHINE_PREFIXES = ("/api/", "/healthz", "/metrics")
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_DOWN_DETAIL = "The database is unreachable; try again shortly."
RETRY_AFTER_S = "10"


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer while the database is down. Touches neither the database nor the session."""
    if request.path.startswith(MACHINE_PREFIXES):
        response: HttpResponse = JsonResponse(
            {"error": "service_unavailable", "detail": DATABASE_DOWN_DETAIL}, status=503
        )
    else:
        # A plain dict and no request: no context processor runs, so nothing queries.
        html = get_template("503.html").render({"detail": DATABASE_DOWN_DETAIL})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = RETRY_AFTER_S
    response["Cache-Control"] = "no-store"
    return response


class ServiceUnavailableMiddleware:
    """Placed right after AuthenticationMiddleware. Django turns an exception into a 500 at the
    middleware that raised it, so the outer ones never see it: the lazy session and user are
    loaded here, where a dead database can still be answered with 503, and process_exception
    covers the views and the templates they render. handler500 (server_error below) covers the
    rest, e.g. a session saved on the way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(OPEN_PREFIXES):
            try:
                request.user.is_authenticated  # noqa: B018 - loads the session and the user
            except DATABASE_DOWN as exc:
                return self._unavailable(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            return self._unavailable(request, exception)
        return None

    @staticmethod
    def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.warning("database unreachable on %s %s: %s", request.method, request.path, exc)
        return service_unavailable(request)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: called while the exception is being handled, so sys.exc_info() names it."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return service_unavailable(request)
    return defaults.server_error(request, template_name)


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The path first: the open paths never need the user (nor the database behind it).
        if not request.path.startswith(OPEN_PREFIXES) and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Every HTML page gets the console's Content-Security-Policy: scripts only from our own
    static files (no inline script or event handler runs, whatever a payload smuggles into a
    page), no plugins, no framing, forms post only here. Styles may be inline: the charting
    library writes its own <style> elements."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            response["Content-Security-Policy"] = content_security_policy(request)
        return response


def content_security_policy(request: HttpRequest) -> str:
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    # The live updates' websocket: 'self' covers ws: in CSP3 browsers only, so it is named.
    sockets = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
