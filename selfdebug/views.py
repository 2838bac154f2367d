"""Console pages of self-debugging: the list of diagnostic runs and one run's report."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from healing.actors import signed_in
from healing.models import Workspace
from healing.roles import Role, has_role

from .actions import RunInProgress, do_request_run
from .models import DetectedBug, DiagnosticRun, FixProposal, KnownPattern


def _require(request: HttpRequest, *roles: Role) -> None:
    if not any(has_role(request.user, role) for role in roles):
        raise PermissionDenied("Your role does not allow this.")


@require_http_methods(["GET"])
def run_list(request: HttpRequest) -> HttpResponse:
    _require(request, Role.REVIEWER, Role.OPERATOR, Role.ADMIN)
    runs = DiagnosticRun.objects.select_related("workspace", "requested_by")[:100]
    return render(
        request,
        "diagnostics/run_list.html",
        {
            "runs": runs,
            "workspaces": Workspace.objects.active(),
            "can_run": has_role(request.user, Role.OPERATOR),
            "patterns": KnownPattern.objects.enabled().count(),
        },
    )


@require_POST
def run_create(request: HttpRequest) -> HttpResponse:
    _require(request, Role.OPERATOR)
    raw = request.POST.get("workspace", "")[:20]
    workspace = Workspace.objects.active().filter(pk=int(raw)).first() if raw.isdigit() else None
    if workspace is None:
        messages.error(request, "Choose an active workspace.")
        return redirect("diagnostics-runs")
    try:
        run = do_request_run(workspace, signed_in(request))
    except RunInProgress as exc:
        messages.error(request, str(exc))
        return redirect(exc.run.get_absolute_url())
    return redirect(run.get_absolute_url())


@require_http_methods(["GET"])
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Role.REVIEWER, Role.OPERATOR, Role.ADMIN)
    run = get_object_or_404(
        DiagnosticRun.objects.select_related("workspace", "requested_by"), pk=pk
    )
    proposals = FixProposal.objects.filter(run=run).select_related("modification")
    by_diff = {p.diff: p for p in proposals}
    diagnostics = []
    for item in (run.report or {}).get("diagnostics", []):
        fixes = [
            {**fix, "proposal": by_diff.get(fix["diff"])} for fix in item.get("potential_fixes", [])
        ]
        diagnostics.append({**item, "fixes": fixes})
    return render(
        request,
        "diagnostics/run_detail.html",
        {
            "run": run,
            "report": run.report or {},
            "diagnostics": diagnostics,
            "bugs": DetectedBug.objects.filter(run=run)[:500],
            "log_entries": (run.log or {}).get("entries", []),
        },
    )
