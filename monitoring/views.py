from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.exceptions import AuthenticationFailed

from healing.actors import signed_in
from healing.roles import Role, has_role
from healing.tokens import ApiTokenAuthentication
from selfheal_site.env import env

from . import actions, host_health, metrics, telemetry
from .api import loop_status
from .models import HealingAttempt, SystemSnapshot

STAFF = (Role.REVIEWER, Role.OPERATOR, Role.ADMIN)
REASON_MAX = 2000  # as the API's MonitoringReasonSerializer


def _metrics_allowed(request: HttpRequest) -> bool:
    """A METRICS_TOKEN bearer (for a Prometheus server), or a staff role's API token or session."""
    header = request.headers.get("Authorization", "")
    expected = env.str("METRICS_TOKEN", default="")
    if (
        expected
        and header.startswith("Bearer ")
        and hmac.compare_digest(header[7:].strip(), expected)
    ):
        return True
    user = request.user if request.user.is_authenticated else None
    if user is None and header.startswith("Token "):
        try:
            found = ApiTokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except AuthenticationFailed:
            return False
        user = found[0] if found else None
    return user is not None and any(has_role(user, role) for role in STAFF)


@never_cache
@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        response = HttpResponse(
            "metrics need a staff token or the METRICS_TOKEN bearer\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)


def _console_context(request: HttpRequest) -> dict[str, Any]:
    source = request.GET.get("source") or telemetry.default_source()
    days = 30 if request.GET.get("range") == "30d" else 1
    until = timezone.now()
    series = telemetry.history(source, until - timedelta(days=days), until, 600) if source else None
    system = list(
        SystemSnapshot.objects.latest_first().values(
            "taken_at", "cpu_percent", "memory_available_percent", "worker_memory_mb"
        )[:240]
    )[::-1]
    chart = {
        "telemetry": series,
        "system": {
            "t": [s["taken_at"].isoformat() for s in system],
            "cpu": [s["cpu_percent"] for s in system],
            "memory_available": [s["memory_available_percent"] for s in system],
            "worker_memory_mb": [s["worker_memory_mb"] for s in system],
        },
    }
    return {
        "source": source,
        "range": "30d" if days == 30 else "24h",
        "sources": telemetry.TelemetrySnapshot.objects.sources() if source else [],
        "summary": telemetry.health_summary(source) if source else None,
        "system": host_health.latest_snapshot(),
        "status": loop_status(),
        "attempts": HealingAttempt.objects.recent(30),
        "is_demo": bool(series and series.get("is_demo")),
        "chart_json": json.loads(json.dumps(chart)),
        "may_operate": has_role(request.user, Role.OPERATOR),
        "loop_error": "",
    }


@login_required
def console(request: HttpRequest) -> HttpResponse:
    if not any(has_role(request.user, role) for role in STAFF):
        return HttpResponse(
            "The monitoring console needs a reviewer, operator or admin role.", status=403
        )
    return render(request, "monitoring/console.html", _console_context(request))


# --- The healing loop's buttons: the same actions as POST /api/v1/loop/start|stop/ --------

View = Callable[..., HttpResponse]


def _operator_post(view: Callable[[HttpRequest, str], HttpResponse]) -> View:
    """POST only, operator or admin only (reviewers see the loop's state, not its buttons), with
    a reason of at most REASON_MAX characters, which the view is given."""

    @wraps(view)
    @login_required
    @require_POST
    def wrapped(request: HttpRequest) -> HttpResponse:
        if not has_role(request.user, Role.OPERATOR):
            return HttpResponse(
                "Starting, stopping or pacing the healing loop needs the operator or admin role.",
                status=403,
            )
        reason = request.POST.get("reason", "").strip()
        if len(reason) > REASON_MAX:
            return _refused(request, f"The reason is longer than {REASON_MAX} characters.")
        return view(request, reason)

    return wrapped


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    context = _console_context(request)
    context["loop_error"] = message
    return render(request, "monitoring/console.html", context, status=400)


@_operator_post
def loop_start(request: HttpRequest, reason: str) -> HttpResponse:
    actions.do_start_loop(signed_in(request), reason)
    messages.success(request, "The healing loop runs.")
    return redirect("monitoring-console")


@_operator_post
def loop_stop(request: HttpRequest, reason: str) -> HttpResponse:
    actions.do_stop_loop(signed_in(request), reason)
    messages.success(request, "The healing loop is stopped.")
    return redirect("monitoring-console")


@_operator_post
def loop_interval(request: HttpRequest, reason: str) -> HttpResponse:
    raw = request.POST.get("interval_seconds", "").strip()
    if not raw.isdigit():
        return _refused(request, f"The interval must be a whole number of seconds, not {raw!r}.")
    try:
        seconds = actions.do_set_loop_interval(signed_in(request), int(raw), reason)
    except ValidationError as exc:
        return _refused(request, " ".join(exc.messages))
    messages.success(request, f"The healing loop runs every {seconds} s.")
    return redirect("monitoring-console")
