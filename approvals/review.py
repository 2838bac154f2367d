"""Everything the review page shows about one modification, gathered in one place."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from healing.models import AuditEvent, Modification
from healing.models.modification import ModificationStatus
from healing.roles import Role, has_role
from healing.sandbox import console_results

from . import diffview
from .actions import approval_round, approvals_needed, comment_required
from .models import Approval, Decision

MAX_CHAIN = 20


def confidence_rows(detail: Any) -> list[dict[str, Any]]:
    """Components of the confidence score with measured-vs-claimed, whatever shape scoring uses:
    {"components": {name: {value, source|measured, weight}}} or a list of {name, ...}."""
    if not isinstance(detail, dict):
        return []
    components = detail.get("components")
    rows: list[dict[str, Any]] = []
    if isinstance(components, dict):
        items = [
            {"name": k, **(v if isinstance(v, dict) else {"value": v})}
            for k, v in components.items()
        ]
    elif isinstance(components, list):
        items = [c for c in components if isinstance(c, dict)]
    else:
        items = []
    for item in items:
        source = item.get("source")
        if source is None and "measured" in item:
            source = "measured" if item.get("measured") else "claimed"
        rows.append(
            {
                "name": item.get("name", "?"),
                "value": item.get("value"),
                "weight": item.get("weight"),
                "source": source or "unknown",
                "claimed": item.get("claimed"),
                "note": item.get("note", ""),
            }
        )
    return rows


def cascade_chain(modification: Modification) -> tuple[list[Modification], list[Modification]]:
    """(ancestors from the root down, direct children). Bounded: a chain is never deeper than MAX_CHAIN."""
    ancestors: list[Modification] = []
    seen = {modification.pk}
    node = modification
    while node.parent_id and len(ancestors) < MAX_CHAIN:
        parent = (
            Modification.objects.only("id", "patch_id", "status", "parent_id", "safety_level")
            .filter(pk=node.parent_id)
            .first()
        )
        if parent is None or parent.pk in seen:
            break
        seen.add(parent.pk)
        ancestors.append(parent)
        node = parent
    children = list(
        modification.children.only("id", "patch_id", "status", "safety_level").order_by(
            "created_at"
        )[:MAX_CHAIN]
    )
    return list(reversed(ancestors)), children


def sandbox_section(modification: Modification) -> dict[str, Any]:
    """Sandbox results against the baseline, from `healing.sandbox.console_results()`:
    {"runs": [{"label", "kind", "isolation_level", "ok", "passed", "failed", "duration_ms", "limit_hit", "new_failures": [], "fixed": []}]}."""
    return {"available": True, **console_results(modification)}


def review_context(modification: Modification, user: User, view: str) -> dict[str, Any]:
    round_ = approval_round(modification.pk)
    decisions = list(
        Approval.objects.filter(modification=modification)
        .select_related("user")
        .order_by("created_at")
    )
    current_round = [d for d in decisions if d.round == round_]
    approvers = [d for d in current_round if d.decision == Decision.APPROVE]
    ancestors, children = cascade_chain(modification)
    is_own = modification.submitted_by_id is not None and modification.submitted_by_id == user.pk
    already = any(d.user_id == user.pk for d in current_round)
    awaiting = modification.status == ModificationStatus.AWAITING_APPROVAL
    can_decide = has_role(user, Role.REVIEWER) and awaiting and not is_own and not already
    cannot_reason = ""
    if not has_role(user, Role.REVIEWER):
        cannot_reason = "Deciding needs the reviewer role."
    elif not awaiting:
        cannot_reason = (
            f"This patch is {modification.get_status_display().lower()}, not awaiting approval."
        )
    elif is_own:
        cannot_reason = "You submitted this patch: another reviewer must decide."
    elif already:
        cannot_reason = "You have decided on this patch; it needs another reviewer."
    detail = (
        modification.confidence_detail if isinstance(modification.confidence_detail, dict) else {}
    )
    stages = (
        [
            {
                "name": name,
                "count": len((body or {}).get("findings") or []) if isinstance(body, dict) else 0,
                "duration_ms": (body or {}).get("duration_ms") if isinstance(body, dict) else None,
            }
            for name, body in (modification.validation or {}).items()
        ]
        if isinstance(modification.validation, dict)
        else []
    )
    return {
        "mod": modification,
        "diff": diffview.build(modification.diff, modification.validation),
        "view": view,
        "stages": stages,
        "confidence_rows": confidence_rows(detail),
        "confidence_extra": {k: v for k, v in detail.items() if k != "components"},
        "ancestors": ancestors,
        "children": children,
        "sandbox": sandbox_section(modification),
        "fitness": modification.fitness if isinstance(modification.fitness, dict) else {},
        # Stored per stage ({"intake": {...}, "apply": {...}}), shown in that order.
        "preflight_stages": [
            (stage, modification.preflight[stage])
            for stage in ("intake", "apply")
            if isinstance(modification.preflight, dict)
            and isinstance(modification.preflight.get(stage), dict)
        ],
        "events": list(AuditEvent.objects.for_modification(modification.pk)),
        "decisions": decisions,
        "approvers": approvers,
        "needed": approvals_needed(modification),
        "comment_required": comment_required(modification),
        "can_decide": can_decide,
        "cannot_reason": cannot_reason,
        "round": round_,
        # The approve form carries what this page showed; an approval is bound to it.
        "digest": modification.review_digest(),
        "can_cancel": has_role(user, Role.OPERATOR) and modification.can_transition_to("cancelled"),
    }
