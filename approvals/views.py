from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from healing.models import AuditEvent, Modification, Workspace


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "workspaces": Workspace.objects.active(),
        "awaiting": Modification.objects.awaiting_review().select_related("workspace")[:50],
        "events": AuditEvent.objects.recent(30),
    }
    return render(request, "approvals/dashboard.html", context)
