"""Cascading errors: a patch's sandbox run or post-apply check reveals a new error; the
follow-up error, and any patch proposed for it, is linked into a chain with its parent.

The chain stops (no more attempts, pre-flight blocks its patches) when it reaches the maximum
depth, when the same error type comes `repeat_limit` times in a row, when confidence keeps
falling along the chain, or when severity rises. Each stop carries the design's recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import tunables
from .actions import record_event
from .actions.audit import Actor
from .breakers.results import CheckResult
from .broadcast import broadcast
from .models import Cascade, CascadeLink, Modification
from .models.cascade import CascadeStatus
from .models.modification import Severity

# The design's recommendations.
STOP = "Stop attempting fixes: the cascade is not converging"
ROLLBACK = "Roll back to the last good state"
PER_TYPE = {
    "syntax": "Focus on syntax validation",
    "logic": "Consider human review for complex logic",
    "runtime": "Add comprehensive runtime testing",
    "performance": "Review performance implications",
    "security": "Security review recommended",
}


@dataclass
class Analysis:
    stop: bool
    reasons: list[dict[str, Any]] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)


def analyse(
    links: list[CascadeLink], last_good_commit: str = "", workspace: Any = None
) -> Analysis:
    """Pure: the stop rules and recommendations over a chain ordered root first."""
    limits = tunables.get_many(
        ["cascade.max_depth", "cascade.repeat_limit", "cascade.falling_confidence_run"], workspace
    )
    max_depth, repeat, falling = (
        limits["cascade.max_depth"],
        limits["cascade.repeat_limit"],
        limits["cascade.falling_confidence_run"],
    )
    reasons: list[dict[str, Any]] = []
    recs: list[str] = []
    depth = len(links)
    if depth > max_depth:
        reasons.append(
            {
                "rule": "max_depth",
                "metric": "cascade_depth",
                "value": depth,
                "threshold": max_depth,
                "detail": f"the chain reached depth {depth}, beyond the maximum of {max_depth}",
            }
        )
        recs += [
            f"{STOP} (cascade depth exceeded: {depth} > {max_depth})",
            _rollback(last_good_commit),
        ]
    types = [link.error_type for link in links]
    if len(types) >= repeat and types[-1] and len(set(types[-repeat:])) == 1:
        reasons.append(
            {
                "rule": "repeating_type",
                "metric": "same_error_type_in_a_row",
                "value": repeat,
                "threshold": repeat,
                "detail": f"{types[-1]} {repeat} times in a row",
            }
        )
        recs.append(PER_TYPE.get(types[-1], PER_TYPE["logic"]))
    confidences = [link.confidence for link in links[-falling:] if link.confidence is not None]
    if len(confidences) == falling and all(
        b < a for a, b in zip(confidences, confidences[1:], strict=False)
    ):
        reasons.append(
            {
                "rule": "falling_confidence",
                "metric": "confidence",
                "value": confidences,
                "threshold": f"not falling over {falling} links",
                "detail": "confidence falls along the chain",
            }
        )
        recs += [PER_TYPE["logic"], _rollback(last_good_commit)]
    if (
        depth >= 2
        and links[-1].severity
        and links[-2].severity
        and (Severity.rank(links[-1].severity) > Severity.rank(links[-2].severity))
    ):
        reasons.append(
            {
                "rule": "rising_severity",
                "metric": "severity",
                "value": links[-1].severity,
                "threshold": f"at most {links[-2].severity}",
                "detail": f"severity rose from {links[-2].severity} to {links[-1].severity}",
            }
        )
        recs.append(_rollback(last_good_commit))
    if reasons:
        for error_type in dict.fromkeys(t for t in types if t):
            recs.append(PER_TYPE.get(error_type, PER_TYPE["logic"]))
    return Analysis(stop=bool(reasons), reasons=reasons, recommendations=list(dict.fromkeys(recs)))


def _rollback(commit: str) -> str:
    return f"{ROLLBACK} (commit {commit[:12]})" if commit else ROLLBACK


def _root_of(modification: Modification) -> Modification:
    seen = {modification.pk}
    node = modification
    while node.parent_id is not None and node.parent_id not in seen:
        seen.add(node.parent_id)
        node = Modification.objects.get(pk=node.parent_id)
    return node


def _cascade_for(root: Modification) -> Cascade:
    cascade, created = Cascade.objects.get_or_create(
        root=root,
        defaults={"workspace_id": root.workspace_id, "last_good_commit": root.base_commit},
    )
    if created:
        CascadeLink.objects.get_or_create(
            modification=root,
            defaults={
                "cascade": cascade,
                "depth": 1,
                "error_type": root.error_type,
                "severity": root.severity,
                "confidence": root.confidence,
            },
        )
    return cascade


@transaction.atomic
def do_record_followup_error(
    parent: Modification,
    *,
    error_type: str,
    severity: str = "",
    message: str = "",
    actor: Actor = "system",
) -> Analysis:
    """The parent's sandbox run or post-apply check revealed a new error: link it into the chain."""
    cascade = Cascade.objects.select_for_update().get(pk=_cascade_for(_root_of(parent)).pk)
    depth = cascade.links.count() + 1
    CascadeLink.objects.create(
        cascade=cascade,
        depth=depth,
        error_type=error_type,
        severity=severity,
        error_message=message[:10000],
    )
    return _judge(cascade, actor)


@transaction.atomic
def do_link_patch(modification: Modification, actor: Actor = "system") -> Analysis | None:
    """A patch proposed for a follow-up error (its `parent` is set): join its parent's chain.

    It takes the newest unpatched follow-up link of the chain, or a new link of its own."""
    if modification.parent_id is None:
        return None
    existing = (
        CascadeLink.objects.filter(modification=modification).select_related("cascade").first()
    )
    if existing is not None:
        return Analysis(
            existing.cascade.is_stopped,
            existing.cascade.stop_reasons,
            existing.cascade.recommendations,
        )
    cascade = Cascade.objects.select_for_update().get(pk=_cascade_for(_root_of(modification)).pk)
    open_link = cascade.links.filter(modification__isnull=True).order_by("-depth").first()
    if open_link is not None:
        open_link.modification = modification
        open_link.confidence = modification.confidence
        open_link.error_type = open_link.error_type or modification.error_type
        open_link.severity = open_link.severity or modification.severity
        open_link.save(update_fields=["modification", "confidence", "error_type", "severity"])
        depth = open_link.depth
    else:
        depth = cascade.links.count() + 1
        CascadeLink.objects.create(
            cascade=cascade,
            depth=depth,
            modification=modification,
            error_type=modification.error_type,
            severity=modification.severity,
            confidence=modification.confidence,
        )
    if modification.cascade_depth != depth - 1:
        Modification.objects.filter(pk=modification.pk).update(cascade_depth=depth - 1)
        modification.cascade_depth = depth - 1
    return _judge(cascade, actor)


def _judge(cascade: Cascade, actor: Actor) -> Analysis:
    analysis = analyse(
        list(cascade.links.order_by("depth", "id")), cascade.last_good_commit, cascade.workspace
    )
    if analysis.stop and not cascade.is_stopped:
        cascade.status = CascadeStatus.STOPPED
        cascade.stop_reasons = analysis.reasons
        cascade.recommendations = analysis.recommendations
        cascade.stopped_at = timezone.now()
        cascade.save(update_fields=["status", "stop_reasons", "recommendations", "stopped_at"])
        record_event(
            "cascade.stop",
            actor,
            workspace_id=cascade.workspace_id,
            modification_id=cascade.root_id,
            from_state=CascadeStatus.OPEN,
            to_state=CascadeStatus.STOPPED,
            reason="; ".join(r["detail"] for r in analysis.reasons),
            data={"cascade_id": cascade.pk, "recommendations": analysis.recommendations},
        )
        broadcast("cascade", chain_json(cascade), workspace_id=cascade.workspace_id)
    return analysis


def preflight_check(modification: Modification) -> CheckResult:
    """Blocks a patch of a stopped chain. Links a patch with a parent into its chain first."""
    if modification.parent_id is not None:
        do_link_patch(modification)
    link = CascadeLink.objects.filter(modification=modification).select_related("cascade").first()
    if link is None:
        return CheckResult(
            "cascade",
            True,
            metric="cascade_depth",
            value=0,
            threshold=tunables.get("cascade.max_depth"),
        )
    cascade = link.cascade
    if cascade.is_stopped and link.depth > 1:
        first = cascade.stop_reasons[0] if cascade.stop_reasons else {}
        return CheckResult(
            "cascade",
            False,
            f"cascade {cascade.pk} was stopped: {first.get('detail', '')}; recommended: {'; '.join(cascade.recommendations)}",
            metric=first.get("metric", "cascade"),
            value=first.get("value"),
            threshold=first.get("threshold"),
        )
    return CheckResult(
        "cascade",
        True,
        metric="cascade_depth",
        value=link.depth,
        threshold=tunables.get("cascade.max_depth"),
    )


def chain_json(cascade: Cascade) -> dict[str, Any]:
    links = cascade.links.select_related("modification").order_by("depth", "id")
    return {
        "id": cascade.pk,
        "workspace_id": cascade.workspace_id,
        "root_modification_id": cascade.root_id,
        "status": cascade.status,
        "depth": links.count(),
        "stop_reasons": cascade.stop_reasons,
        "recommendations": cascade.recommendations,
        "last_good_commit": cascade.last_good_commit,
        "created_at": cascade.created_at.isoformat(),
        "stopped_at": cascade.stopped_at.isoformat() if cascade.stopped_at else None,
        "chain": [
            {
                "depth": link.depth,
                "error_type": link.error_type,
                "severity": link.severity,
                "confidence": link.confidence,
                "error_message": link.error_message,
                "modification": (
                    {
                        "id": link.modification.pk,
                        "patch_id": link.modification.patch_id,
                        "status": link.modification.status,
                    }
                    if link.modification
                    else None
                ),
                "created_at": link.created_at.isoformat(),
            }
            for link in links
        ],
    }
