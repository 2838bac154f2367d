"""The dashboard is a registry of panels: small classes with `context()` and a template.

Every panel runs a fixed number of queries whatever the size of the tables (the dashboard test
asserts it at 10 and 1,000 rows, the bench at 100,000). The console depends on healing only:
health comes through the source monitoring registers with `healing.contrib`.

A panel may add reasons to "nothing is happening" through `idle_reasons(context)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Count, Subquery
from django.utils import timezone

from approvals.templatetags.console import duration
from healing.breakers import console_summary
from healing.contrib import current_health
from healing.models import AuditEvent, EngineState, Modification
from healing.models.breaker import GLOBAL_SOURCE
from healing.models.modification import IN_FLIGHT, ModificationStatus, SafetyLevel

log = logging.getLogger(__name__)
S = ModificationStatus

QUEUE_LIMIT = 50
EVENT_LIMIT = 30
NAME_LIMIT = 5  # workspaces named in a summary line before "and N more"
SAMPLE_LIMIT = 1000
ACTIVE = (*IN_FLIGHT, S.AWAITING_APPROVAL, S.APPROVED, S.BLOCKED)
# Columns a list needs; never the diff or the envelope, which may be megabytes each.
LIST_FIELDS = (
    "id",
    "patch_id",
    "status",
    "safety_level",
    "safety_rule",
    "error_type",
    "severity",
    "confidence",
    "created_at",
    "status_changed_at",
    "source",
    "workspace__id",
    "workspace__name",
    "cascade_depth",
    "block_reason",
    "blocked_until",
)


class Panel:
    key: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int] = 100
    wide: ClassVar[bool] = False
    isolated: ClassVar[bool] = False  # reads another area's data: run in a savepoint

    @property
    def template(self) -> str:
        return f"approvals/panels/{self.key}.html"

    def context(self) -> dict[str, Any]:
        raise NotImplementedError

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        return []


PANELS: dict[str, type[Panel]] = {}


def register(cls: type[Panel]) -> type[Panel]:
    PANELS[cls.key] = cls
    return cls


@dataclass
class RenderedPanel:
    key: str
    title: str
    template: str
    wide: bool
    context: dict[str, Any]


def dashboard() -> dict[str, Any]:
    """Every panel's context plus the reasons nothing is happening (when nothing is)."""
    rendered: list[RenderedPanel] = []
    reasons: list[str] = []
    shared: dict[str, Any] = {}
    for cls in sorted(PANELS.values(), key=lambda c: (c.order, c.key)):
        panel = cls()
        try:
            if cls.isolated:
                # Another area's queries run in a savepoint: if one fails (its tables are not
                # there yet, a bug), PostgreSQL's transaction stays usable for the other panels.
                with transaction.atomic():
                    context = panel.context()
            else:
                context = panel.context()
        except Exception:  # noqa: BLE001 - one broken panel must not take the dashboard down
            log.exception("dashboard panel %s failed", cls.key)
            context = {"available": False, "why": "This panel failed to load; see the server log."}
        context.setdefault("available", True)
        shared[cls.key] = context
        rendered.append(RenderedPanel(cls.key, cls.title, panel.template, cls.wide, context))
        reasons.extend(panel.idle_reasons(context))
    pipeline = shared.get("pipeline", {})
    busy = pipeline.get("in_flight", 0) > 0
    if not busy and not reasons:
        reasons.append(
            "Empty queue: no patch is being validated, tested or applied, and none was submitted."
        )
    return {"panels": rendered, "idle": not busy, "idle_reasons": reasons, "now": timezone.now()}


@register
class EnginePanel(Panel):
    key = "engine"
    title = "Engine"
    order = 10

    def context(self) -> dict[str, Any]:
        state = (
            EngineState.objects.select_related("changed_by").filter(pk=1).first()
            or EngineState.objects.current()
        )
        return {"state": state}

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        state: EngineState = context["state"]
        who = state.changed_by.get_username() if state.changed_by else "system"
        if state.is_emergency_stopped:
            return [
                f"Emergency stop by {who}: {state.reason}. No new work starts until an operator resumes."
            ]
        if not state.is_running:
            return [f"The engine is stopped ({who}: {state.reason or 'no reason given'})."]
        return []


@register
class PipelinePanel(Panel):
    key = "pipeline"
    title = "Pipeline"
    order = 20

    def context(self) -> dict[str, Any]:
        # Only the statuses a patch is still moving through: walked on the status index, so the
        # cost follows the live work, not the history (applied and rejected rows pile up forever).
        counts = dict(
            Modification.objects.filter(status__in=ACTIVE)
            .order_by()
            .values_list("status")
            .annotate(n=Count("*"))
        )
        # Reasons of the most recent blocks only: bounded work however many rows are blocked.
        from healing.actions.unblock import still_blocked

        # Only blocks that still hold: a lifted one waits seconds for the sweep, and is not news.
        recent = (
            still_blocked(Modification.objects.blocked())
            .order_by("-created_at")
            .values("pk")[:SAMPLE_LIMIT]
        )
        blocked = list(
            Modification.objects.filter(pk__in=Subquery(recent))
            .order_by()
            .values("block_reason")
            .annotate(n=Count("*"))
            .order_by("-n")[:5]
        )
        stages = [
            (s.value, s.label, counts.get(s.value, 0)) for s in ModificationStatus if s in ACTIVE
        ]
        return {
            "stages": stages,
            "in_flight": sum(counts.get(s, 0) for s in IN_FLIGHT),
            "blocked": blocked,
            "blocked_total": counts.get(S.BLOCKED, 0),
        }

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        if context["in_flight"]:
            return []
        # Blocks carry the check that stopped them: a breaker open, the rate limit, health...
        return [
            f"{row['n']} patch(es) blocked: {row['block_reason'] or 'no reason recorded'}"
            for row in context["blocked"]
        ]


@register
class QueuePanel(Panel):
    key = "queue"
    title = "Awaiting approval"
    order = 30
    wide = True

    def context(self) -> dict[str, Any]:
        awaiting = Modification.objects.awaiting_review()
        total = awaiting.count()  # index-only
        # The breakdown by level covers the oldest SAMPLE_LIMIT waiting patches, so its cost stays
        # flat however long the queue grows; the page says so when the queue is longer.
        sample = awaiting.order_by("created_at", "id").values("pk")[:SAMPLE_LIMIT]
        by_level = dict(
            Modification.objects.filter(pk__in=Subquery(sample))
            .order_by()
            .values_list("safety_level")
            .annotate(n=Count("*"))
        )
        # Rows that carry two display-only attributes (waiting, bulk_ok) to the template.
        items: list[Any] = list(
            awaiting.select_related("workspace")
            .only(*LIST_FIELDS)
            .order_by("created_at", "id")[:QUEUE_LIMIT]
        )
        now = timezone.now()
        for item in items:
            item.waiting = now - item.status_changed_at
            item.bulk_ok = item.safety_level in {
                SafetyLevel.SAFE,
                SafetyLevel.LOW_RISK,
                SafetyLevel.MEDIUM_RISK,
            }
        levels = [(level.value, by_level.get(level.value, 0)) for level in SafetyLevel]
        return {
            "items": items,
            "total": total,
            "levels": levels,
            "limit": QUEUE_LIMIT,
            "bulk_any": any(item.bulk_ok for item in items),
            "sampled": total > SAMPLE_LIMIT,
            "sample_limit": SAMPLE_LIMIT,
        }

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        if context["total"]:
            oldest = context["items"][0] if context["items"] else None
            since = f"; the oldest has waited {duration(oldest.waiting)}" if oldest else ""
            return [f"{context['total']} patch(es) wait for a reviewer{since}."]
        return []


@register
class SandboxPanel(Panel):
    """Patches in the sandbox now (live progress arrives as `sandbox.progress` events), and the
    isolation of the active workspaces summarised: counts per level, the NONE ones and the ones
    this machine cannot serve named up to NAME_LIMIT, the rest on the workspaces page."""

    key = "sandbox"
    title = "Sandbox"
    order = 25

    def context(self) -> dict[str, Any]:
        from healing.models import IsolationLevel, Workspace
        from healing.sandbox import capabilities

        running = list(
            Modification.objects.filter(status=S.SANDBOXING)
            .select_related("workspace")
            .only(*LIST_FIELDS)
            .order_by("status_changed_at")[:10]
        )
        levels = capabilities()["levels"]
        active = Workspace.objects.active()
        counts = dict(active.order_by().values_list("isolation_level").annotate(n=Count("*")))
        missing = sorted(level for level, info in levels.items() if not info["available"])
        per_level = [
            {
                "level": level.value,
                "label": level.label,
                "count": counts.get(level.value, 0),
                "available": levels.get(level.value, {}).get("available", False),
                "detail": levels.get(level.value, {}).get("detail", "unknown"),
            }
            for level in IsolationLevel
        ]
        unavailable = (
            list(
                active.filter(isolation_level__in=missing)
                .order_by("name")
                .values_list("name", "isolation_level")[:NAME_LIMIT]
            )
            if missing
            else []
        )
        unavailable_total = sum(counts.get(level, 0) for level in missing)
        none_total = counts.get(IsolationLevel.NONE.value, 0)
        none_names = (
            list(
                active.filter(isolation_level=IsolationLevel.NONE)
                .order_by("name")
                .values_list("name", flat=True)[:NAME_LIMIT]
            )
            if none_total
            else []
        )
        return {
            "running": running,
            "levels": per_level,
            "total": sum(counts.values()),
            "none_names": none_names,
            "none_more": none_total - len(none_names),
            "unavailable_names": [name for name, _ in unavailable],
            "unavailable_more": unavailable_total - len(unavailable),
            "unavailable_by_level": {
                level: [name for name, lvl in unavailable if lvl == level] for level in missing
            },
        }

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        # Never a silent downgrade: a level this machine cannot give blocks the workspace.
        reasons = []
        for row in context.get("levels", []):
            if row["available"] or not row["count"]:
                continue
            names = context["unavailable_by_level"].get(row["level"], [])
            if row["count"] == 1 and names:
                reasons.append(
                    f"Workspace {names[0]} requires {row['level']} isolation, which this machine "
                    f"cannot give ({row['detail']}); its patches are blocked."
                )
                continue
            more = row["count"] - len(names)
            named = ", ".join(names) + (f" and {more} more" if more else "")
            reasons.append(
                f"{row['count']} workspaces require {row['level']} isolation, which this machine "
                f"cannot give ({row['detail']}): {named}; their patches are blocked."
            )
        return reasons


ENGINE_LIMIT = 200


def _breaker_controls(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The global breaker and every engine that has submitted, each with its state, for the
    admin's force-open / force-close / reset buttons. The summary lists every engine breaker
    that is not closed or counts failures; any other is closed. One query more."""
    tripped = {b["source"]: b for b in summary["breakers"] if "source" in b}
    sources = set(tripped) | set(
        Modification.objects.order_by().values_list("source", flat=True).distinct()[:ENGINE_LIMIT]
    )
    sources.discard(GLOBAL_SOURCE)
    controls = []
    for source in [GLOBAL_SOURCE, *sorted(sources)]:
        known = tripped.get(source, {})
        controls.append(
            {
                "source": source,
                "label": "global (every engine)" if source == GLOBAL_SOURCE else source,
                "state": known.get("state", "closed"),
                "failures": known.get("failures", 0),
            }
        )
    return controls


@register
class BreakersPanel(Panel):
    """Circuit breakers and the rate limit."""

    key = "breakers"
    title = "Breakers and rate limit"
    order = 50
    isolated = True

    def context(self) -> dict[str, Any]:
        summary = console_summary()
        return {**summary, "controls": _breaker_controls(summary)}

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        reasons = []
        for breaker in context.get("breakers", []) or []:
            if breaker.get("state") == "open":
                until = f" until {breaker['retry_at']}" if breaker.get("retry_at") else ""
                engine = breaker.get("engine", "all")
                source = f" from {engine}" if engine != "all" else ""
                reasons.append(
                    f"Breaker open for {breaker.get('error_type', '?')}{source} in {breaker.get('workspace', 'all workspaces')}{until}."
                )
        limit = context.get("rate_limit") or {}
        if limit and limit.get("limit") is not None and limit.get("used", 0) >= limit["limit"]:
            reasons.append(
                f"Rate limit reached: {limit['used']} of {limit['limit']} applications {limit.get('window', '')}.".replace(
                    " .", "."
                )
            )
        return reasons


@register
class HealthPanel(Panel):
    """System health, from the source monitoring registers (`healing.contrib`)."""

    key = "health"
    title = "Health"
    order = 60
    isolated = True

    def context(self) -> dict[str, Any]:
        health = current_health()
        rows = [
            {"name": name, "value": m.value, "threshold": m.threshold}
            for name, m in health.metrics.items()
        ]
        return {"status": health.status, "ok": health.ok, "reason": health.reason, "metrics": rows}

    def idle_reasons(self, context: dict[str, Any]) -> list[str]:
        if context.get("available") and not context.get("ok", True):
            return [
                f"Health is {context['status'].lower()}: the pre-flight check holds new "
                f"applications ({context.get('reason') or 'see the health panel'})."
            ]
        return []


@register
class CascadesPanel(Panel):
    """Open cascade chains: patches whose error was revealed by another patch (Modification.parent)."""

    key = "cascades"
    title = "Cascade chains"
    order = 70

    def context(self) -> dict[str, Any]:
        open_children = list(
            Modification.objects.open()
            # parent_id >= 1 (not IS NOT NULL) lets SQLite walk the parent index: few rows have one.
            .filter(parent_id__gte=1)
            .select_related("parent__parent__parent")
            .order_by("-cascade_depth", "-created_at")[:10]
        )
        chains = []
        for leaf in open_children:
            chain = [leaf]
            node = leaf
            top: Modification | None = leaf  # the last one reached; None past the root
            for _ in range(3):
                top = node.parent if node.parent_id else None
                if top is None:
                    break
                node = top
                chain.append(node)
            truncated = bool(top is not None and top.parent_id)
            chains.append(
                {
                    "nodes": list(reversed(chain)),
                    "truncated": truncated,
                    "depth": leaf.cascade_depth,
                }
            )
        return {"chains": chains}


@register
class EventsPanel(Panel):
    key = "events"
    title = "Recent events"
    order = 80
    wide = True

    def context(self) -> dict[str, Any]:
        return {"events": list(AuditEvent.objects.recent(EVENT_LIMIT))}
