"""The workspaces page: every workspace with its isolation, environment, breaker and last patches.

A page costs a fixed number of queries whatever the number of workspaces: the count, the page's
rows (the dual breaker joined), one query for the page's open circuits and two for the page's
latest patches (index seeks per workspace, then the rows). The test asserts it at 10 and 200
workspaces; bench/workspaces_page.py measures 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from healing.breakers import dual
from healing.models import (
    EnvironmentBuild,
    ErrorTypeCircuit,
    IsolationLevel,
    Modification,
    Workspace,
    WorkspaceBreaker,
)
from healing.sandbox import capabilities

from .access import console_user

PER_PAGE = 50
LATEST = 3
DETAIL_PATCHES = 20
PATCH_FIELDS = ("id", "patch_id", "status", "safety_level", "created_at", "workspace_id")


@dataclass(frozen=True)
class Filters:
    q: str = ""
    isolation: str = ""  # one IsolationLevel value, or ""
    unavailable: bool = False  # only levels this machine cannot give

    @classmethod
    def from_request(cls, request: HttpRequest) -> Filters:
        isolation = request.GET.get("isolation", "")
        return cls(
            q=request.GET.get("q", "").strip()[:200],
            isolation=isolation if isolation in IsolationLevel.values else "",
            unavailable=request.GET.get("unavailable") == "1",
        )

    def query(self) -> str:
        """The filters as a query string, for the pager's links."""
        pairs = {"q": self.q, "isolation": self.isolation, "unavailable": "1" * self.unavailable}
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass
class Row:
    """One workspace as the page shows it; `dual` is its dual breaker row, None while it has
    never moved (closed)."""

    workspace: Workspace
    capability: dict[str, Any]
    dual: WorkspaceBreaker | None = None
    open_circuits: list[ErrorTypeCircuit] = field(default_factory=list)
    latest: list[Modification] = field(default_factory=list)


def unavailable_levels(levels: dict[str, Any]) -> list[str]:
    return sorted(level for level, info in levels.items() if not info["available"])


def filtered(filters: Filters, levels: dict[str, Any]) -> QuerySet[Workspace]:
    workspaces = Workspace.objects.all()
    if filters.q:
        workspaces = workspaces.filter(Q(name__icontains=filters.q) | Q(path__icontains=filters.q))
    if filters.isolation:
        workspaces = workspaces.filter(isolation_level=filters.isolation)
    if filters.unavailable:
        workspaces = workspaces.filter(isolation_level__in=unavailable_levels(levels))
    return workspaces.order_by("name", "id")


def latest_patches(workspace_ids: list[int], per_workspace: int = LATEST) -> list[Modification]:
    """The newest `per_workspace` patches of each workspace, in two queries whatever the history:
    the ids through `per_workspace` index seeks per workspace (mod_workspace_latest), then the rows
    (never the diff). A window function over the page's patches read every one of them: 440 ms
    for a page holding one workspace with 100,000 patches."""
    if not workspace_ids:
        return []
    newest = Modification.objects.filter(workspace_id=OuterRef("pk")).order_by("-created_at", "-id")
    picks = {f"p{n}": Subquery(newest.values("pk")[n : n + 1]) for n in range(per_workspace)}
    ids = [
        pk
        for row in Workspace.objects.filter(pk__in=workspace_ids)
        .order_by()
        .annotate(**picks)
        .values_list(*picks)
        for pk in row
        if pk is not None
    ]
    return list(
        Modification.objects.filter(pk__in=ids)
        .only(*PATCH_FIELDS)
        .order_by("workspace_id", "-created_at", "-id")
    )


def _capability(levels: dict[str, Any], level: str) -> dict[str, Any]:
    return levels.get(level, {"available": False, "detail": "unknown"})


def page_of(filters: Filters, number: Any, levels: dict[str, Any]) -> Page[Any]:
    """One page of workspaces as `Row`s."""
    workspaces = filtered(filters, levels).select_related("breaker")
    page = Paginator(workspaces, PER_PAGE).get_page(number)
    rows = [
        Row(w, _capability(levels, w.isolation_level), _breaker_or_none(w))
        for w in page.object_list
    ]
    by_id = {row.workspace.pk: row for row in rows}
    if by_id:
        # By hand rather than prefetch_related: one query each for the whole page.
        for circuit in ErrorTypeCircuit.objects.filter(
            workspace_id__in=list(by_id), is_open=True
        ).order_by("error_type"):
            by_id[circuit.workspace_id].open_circuits.append(circuit)
        for patch in latest_patches(list(by_id)):
            by_id[patch.workspace_id].latest.append(patch)
    # The page keeps its numbers and links; its items become the rows the template shows.
    page.object_list = rows  # type: ignore[assignment]
    return page


def _breaker_or_none(workspace: Workspace) -> WorkspaceBreaker | None:
    try:
        return workspace.breaker
    except WorkspaceBreaker.DoesNotExist:
        return None


@console_user
@require_GET
def workspace_list(request: HttpRequest) -> HttpResponse:
    filters = Filters.from_request(request)
    levels = capabilities()["levels"]
    page = page_of(filters, request.GET.get("page"), levels)
    return render(
        request,
        "approvals/workspaces.html",
        {
            "page": page,
            "filters": filters,
            "query": filters.query(),
            "levels": IsolationLevel.choices,
            "unavailable_levels": unavailable_levels(levels),
        },
    )


@console_user
@require_GET
def workspace_detail(request: HttpRequest, pk: int) -> HttpResponse:
    workspace = get_object_or_404(Workspace.objects.select_related("breaker"), pk=pk)
    levels = capabilities()["levels"]
    row = Row(
        workspace,
        _capability(levels, workspace.isolation_level),
        _breaker_or_none(workspace),
        list(
            ErrorTypeCircuit.objects.filter(workspace=workspace, is_open=True).order_by(
                "error_type"
            )
        ),
    )
    return render(
        request,
        "approvals/workspace_detail.html",
        {
            "row": row,
            "w": workspace,
            "breaker": dual.state_json(workspace.pk),
            "patches": list(
                Modification.objects.filter(workspace=workspace)
                .only(*PATCH_FIELDS)
                .order_by("-created_at", "-id")[:DETAIL_PATCHES]
            ),
            "limit": DETAIL_PATCHES,
            "builds": list(EnvironmentBuild.objects.for_workspace(workspace.pk)[:10]),
        },
    )
