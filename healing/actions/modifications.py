from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import ConfidenceScore, InvalidTransition, Modification
from ..models.modification import ModificationStatus, can_transition
from .audit import Actor, record_event


class ConcurrentTransition(InvalidTransition):
    """Someone else moved the modification first; the caller lost the race and must not act."""


@transaction.atomic
def transition(
    modification: Modification,
    to_status: str,
    actor: Actor,
    reason: str = "",
    *,
    expected_from: str | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Modification:
    """Move a modification to `to_status`, or raise.

    The update is conditional on the status we read, so two workers (or two reviewers) racing on
    one modification get exactly one winner; the loser gets ConcurrentTransition. Extra `fields`
    are written in the same UPDATE. One audit event per transition.
    """
    from_status = expected_from or modification.status
    if not can_transition(from_status, to_status):
        raise InvalidTransition(modification.pk, from_status, to_status)
    now = timezone.now()
    if to_status == ModificationStatus.BLOCKED:
        fields.setdefault("blocked_from", from_status)
    if to_status == ModificationStatus.APPROVED and from_status != ModificationStatus.BLOCKED:
        # What was approved (by people or by the policy): the apply lands only this. A block
        # lifting back into approved keeps the digest of the original approval.
        fields.setdefault("approved_digest", modification.review_digest())
    updated = Modification.objects.filter(pk=modification.pk, status=from_status).update(
        status=to_status, status_changed_at=now, updated_at=now, **fields
    )
    if updated != 1:
        current = (
            Modification.objects.filter(pk=modification.pk).values_list("status", flat=True).first()
        )
        raise ConcurrentTransition(
            modification.pk, from_status, to_status, f"it is {current or 'gone'} now"
        )
    modification.status = to_status
    modification.status_changed_at = now
    for name, value in fields.items():
        setattr(modification, name, value)
    record_event(
        "modification.transition",
        actor,
        workspace_id=modification.workspace_id,
        modification_id=modification.pk,
        from_state=from_status,
        to_state=to_status,
        reason=reason,
        data={"patch_id": modification.patch_id, **(data or {})},
    )
    return modification


@transaction.atomic
def do_record_score(
    modification: Modification, overall: float, detail: dict[str, Any], score: dict[str, Any]
) -> None:
    """Store a confidence score: its row (`score`: the ConfidenceScore columns) and the
    modification's summary of it. Scoring again replaces both."""
    ConfidenceScore.objects.update_or_create(modification=modification, defaults=score)
    Modification.objects.filter(pk=modification.pk).update(
        confidence=overall, confidence_detail=detail
    )
    modification.confidence = overall
    modification.confidence_detail = detail


@transaction.atomic
def do_record_preflight(modification: Modification, stage: str, result: dict[str, Any]) -> None:
    """Store one stage's pre-flight result beside the others' on the modification."""
    stored: dict[str, Any] = dict(modification.preflight or {})
    stored[stage] = result
    Modification.objects.filter(pk=modification.pk).update(preflight=stored)
    modification.preflight = stored
