"""The console's pages. Thin: gather context, call actions, render."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healing.actions import do_emergency_stop, do_resume
from healing.actions.cancel import do_cancel
from healing.actors import signed_in
from healing.models import AuditEvent, InvalidTransition, Modification, SettingChange, Workspace
from healing.tunables import REGISTRY

from . import panels, thresholds
from .access import admin_required, console_user, operator_required, reviewer_required
from .actions import ApprovalRefused, do_approve, do_bulk_approve, do_reject
from .review import review_context


@console_user
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # The dashboard watches every active workspace for per-workspace events (sandbox progress).
    watched = list(Workspace.objects.active().values_list("id", flat=True)[:50])
    return render(
        request, "approvals/dashboard.html", {"dash": panels.dashboard(), "watched": watched}
    )


@console_user
@require_GET
def dashboard_panels(request: HttpRequest) -> HttpResponse:
    """The panels alone, for the live refresh after an event arrives on the websocket."""
    return render(request, "approvals/_panels.html", {"dash": panels.dashboard()})


@console_user
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    modification = get_object_or_404(
        Modification.objects.select_related("workspace", "submitted_by"), pk=pk
    )
    view = "split" if request.GET.get("view") == "split" else "unified"
    return render(
        request, "approvals/review.html", review_context(modification, signed_in(request), view)
    )


def _decide(request: HttpRequest, pk: int, action: Any, **extra: Any) -> HttpResponse:
    modification = get_object_or_404(Modification, pk=pk)
    try:
        seen = int(request.POST["round"]) if request.POST.get("round", "").isdigit() else None
        outcome = action(
            modification, request.user, request.POST.get("comment", ""), seen_round=seen, **extra
        )
    except ApprovalRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, outcome.message)
    return redirect(modification.get_absolute_url())


@reviewer_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    # The form always carries the digest of what it showed; a missing one matches nothing.
    return _decide(request, pk, do_approve, seen_digest=request.POST.get("digest", ""))


@operator_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    modification = get_object_or_404(Modification, pk=pk)
    try:
        do_cancel(modification, signed_in(request), request.POST.get("reason", ""))
    except (ValidationError, InvalidTransition) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"{modification.patch_id} cancelled.")
    return redirect(modification.get_absolute_url())


@reviewer_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, do_reject)


@reviewer_required
@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    try:
        ids = [int(v) for v in request.POST.getlist("ids")]
    except ValueError:
        return HttpResponseBadRequest("ids must be patch numbers.")
    if not ids:
        messages.error(request, "Select at least one LOW or MEDIUM patch to approve.")
        return redirect("dashboard")
    results = do_bulk_approve(ids[:200], signed_in(request), request.POST.get("comment", ""))
    approved = [r for r in results if r.ok]
    if approved:
        messages.success(request, f"Approved {len(approved)} patch(es).")
    for refused in (r for r in results if not r.ok):
        messages.error(request, refused.message)
    return redirect("dashboard")


@operator_required
@require_http_methods(["GET", "POST"])
def engine_stop(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            do_emergency_stop(signed_in(request), request.POST.get("reason", ""))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.warning(
                request, "Emergency stop: no new work starts until an operator resumes."
            )
            return redirect(_safe_next(request) or "dashboard")
    return render(
        request, "approvals/engine_stop.html", {"error": error}, status=400 if error else 200
    )


@operator_required
@require_http_methods(["GET", "POST"])
def engine_resume(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        do_resume(signed_in(request), request.POST.get("reason", "").strip())
        messages.success(request, "The engine runs again.")
        return redirect(_safe_next(request) or "dashboard")
    return render(request, "approvals/engine_resume.html")


def _safe_next(request: HttpRequest) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and ok else ""


@admin_required
@require_http_methods(["GET", "POST"])
def thresholds_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        changed, errors = thresholds.apply(request.user, request.POST)
        if not errors:
            messages.success(
                request, f"Saved {len(changed)} change(s)." if changed else "Nothing changed."
            )
            return redirect("thresholds")
        context = {
            "groups": thresholds.fields(request.POST, errors),
            "errors": errors,
            "reason": request.POST.get("reason", ""),
            "error_list": [
                ("id_" + key.replace(".", "_"), message) for key, message in errors.items()
            ],
        }
        return render(request, "approvals/thresholds.html", context, status=400)
    return render(
        request, "approvals/thresholds.html", {"groups": thresholds.fields(), "errors": {}}
    )


@admin_required
@require_GET
def thresholds_history(request: HttpRequest) -> HttpResponse:
    changes = SettingChange.objects.select_related("changed_by")
    key = request.GET.get("key", "")
    if key:
        changes = changes.filter(key=key)
    page = Paginator(changes, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/thresholds_history.html",
        {
            "page": page,
            "key": key,
            "keys": sorted(REGISTRY),
            "query": urlencode({"key": key}) if key else "",
        },
    )


# --- Audit log -----------------------------------------------------------------------------


def _when(raw: str, end: bool = False) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError(raw)
        value = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    return make_aware(value) if is_naive(value) else value


def audit_queryset(request: HttpRequest) -> tuple[Any, dict[str, str], dict[str, str]]:
    params = {
        k: (request.GET.get(k) or "").strip()
        for k in ("workspace", "patch", "user", "kind", "since", "until")
    }
    errors: dict[str, str] = {}
    events = AuditEvent.objects.all()
    if params["workspace"]:
        events = events.filter(workspace__name=params["workspace"])
    if params["patch"]:
        patch = params["patch"]
        events = (
            events.filter(modification_id=int(patch))
            if patch.isdigit()
            else events.filter(modification__patch_id=patch)
        )
    if params["user"]:
        user = params["user"]
        events = (
            events.filter(actor_label__in=[user, f"user:{user}", f"agent:{user}"])
            if ":" not in user
            else events.filter(actor_label=user)
        )
    if params["kind"]:
        events = events.filter(kind__startswith=params["kind"])
    for name, lookup, end in (
        ("since", "created_at__gte", False),
        ("until", "created_at__lte", True),
    ):
        try:
            moment = _when(params[name], end)
        except ValueError:
            errors[name] = f"{params[name]!r} is not a date (YYYY-MM-DD) or an ISO date-time."
            continue
        if moment is not None:
            events = events.filter(**{lookup: moment})
    return events.order_by("-created_at", "-id"), params, errors


@console_user
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    events, params, errors = audit_queryset(request)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in params.items() if v})
    context = {
        "page": page,
        "params": params,
        "errors": errors,
        "query": query,
        "workspaces": Workspace.objects.values_list("name", flat=True),
        "kinds": AuditEvent.objects.order_by("kind")
        .values_list("kind", flat=True)
        .distinct()[:100],
    }
    return render(request, "approvals/audit.html", context, status=400 if errors else 200)


class _Echo:
    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading quote before anything it would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@console_user
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    events, _params, errors = audit_queryset(request)
    if errors:
        return HttpResponseBadRequest("; ".join(errors.values()))
    rows = events.iterator(chunk_size=2000)
    columns = [
        "id",
        "created_at",
        "kind",
        "actor",
        "workspace_id",
        "modification_id",
        "from_state",
        "to_state",
        "reason",
        "data",
    ]
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def lines() -> Any:
            yield writer.writerow(columns)
            for event in rows:
                item = event.as_json()
                yield writer.writerow(
                    [_cell(json.dumps(item[c]) if c == "data" else item[c]) for c in columns]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    else:

        def chunks() -> Any:
            yield "["
            for i, event in enumerate(rows):
                yield ("," if i else "") + json.dumps(event.as_json())
            yield "]"

        response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="selfheal-audit.{fmt}"'
    return response
