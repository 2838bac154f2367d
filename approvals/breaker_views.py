"""The breaker buttons of the dashboard: force open, force close or reset the global breaker or
one engine's, with a reason. The same action and the same role (admin) as the breakers API."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from healing.breakers.actions import ACTIONS, do_engine_breaker_action
from healing.models import EngineBreaker, Modification
from healing.models.breaker import GLOBAL_SOURCE

from .access import admin_required

DONE = {"force-open": "forced open", "force-close": "forced closed", "reset": "reset"}


def _known(source: str) -> bool:
    """The global breaker, or an engine the panel lists (a breaker row or a submission)."""
    return (
        source == GLOBAL_SOURCE
        or EngineBreaker.objects.filter(source=source).exists()
        or Modification.objects.filter(source=source).exists()
    )


@admin_required
@require_POST
def engine_breaker_action(request: HttpRequest, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such breaker action.")
    source = request.POST.get("source", GLOBAL_SOURCE)
    if not _known(source):
        raise Http404("No such engine.")
    label = "The global breaker" if source == GLOBAL_SOURCE else f"The breaker of {source}"
    try:
        breaker = do_engine_breaker_action(
            request.user,  # type: ignore[arg-type]  # admin_required: a signed-in user
            action,
            request.POST.get("reason", ""),
            source,
        )
    except ValidationError as exc:
        return render(
            request,
            "approvals/breaker_action.html",
            {"error": " ".join(exc.messages), "label": label, "source": source, "action": action},
            status=400,
        )
    messages.success(request, f"{label} was {DONE[action]}; it is now {breaker.state.lower()}.")
    return redirect("dashboard")
