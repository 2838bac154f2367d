"""record_outcome(): one outcome feeds the breakers, the learnt success rates and calibration.

Stages: "sandbox" (the sandbox judged the patch), "apply" (applied — and verified, when the
apply task watches it), "verify" (a later post-apply check), "rollback" (success=False: it was
rolled back). Every call is stored once per (modification, stage) as an Outcome; calibration reads
each modification's latest one. The breakers and success rates count one attempt per patch: a
success only once it landed (apply/verify), a failure only the first time that patch fails.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..actions.audit import Actor
from ..models import Modification, Outcome, SuccessRate
from . import dual, engine_breaker, ratelimit

STAGES = ("sandbox", "apply", "verify", "rollback")


def strategy_of(modification: Modification) -> str:
    envelope = modification.envelope or {}
    metadata = (envelope.get("patch_data") or {}).get("metadata") or {}
    value = envelope.get("strategy") or metadata.get("strategy") or ""
    return str(value)[:128] or "unspecified"


def record_outcome(
    modification: Modification, *, success: bool, stage: str, actor: Actor = None
) -> bool:
    """Count one outcome of `modification` at `stage`. Returns False if it was already counted
    (a retried task): each (modification, stage) counts exactly once."""
    if stage not in STAGES:
        raise ValueError(f"unknown outcome stage {stage!r}; one of {', '.join(STAGES)}")
    error_type = dual.normalise(modification.error_type)
    try:
        with transaction.atomic():
            # Lock order everywhere: the global breaker row (rate-limit reservations), this
            # engine's breaker row, then the workspace breaker row.
            engine_breaker.lock(modification.source)
            counted = _counts(modification, success, stage)
            Outcome.objects.create(
                modification=modification,
                workspace_id=modification.workspace_id,
                stage=stage,
                success=success,
                error_type=error_type,
                source=modification.source[:128],
                strategy=strategy_of(modification),
                confidence=modification.confidence,
                counted=counted,
            )
            if counted:
                dual.record(
                    modification.workspace,
                    modification.workspace_id,
                    error_type,
                    success,
                    actor,
                    modification.source,
                )
                engine_breaker.record(success, actor, modification.source)
                _learn(modification, error_type, success)
    except IntegrityError:
        if Outcome.objects.filter(modification=modification, stage=stage).exists():
            return False
        raise
    return True


def _counts(modification: Modification, success: bool, stage: str) -> bool:
    if success:
        return (
            stage in ("apply", "verify")
            and not Outcome.objects.filter(
                modification=modification, success=True, counted=True
            ).exists()
        )
    return not Outcome.objects.filter(
        modification=modification, success=False, counted=True
    ).exists()


def _learn(modification: Modification, error_type: str, success: bool) -> None:
    rate, _ = SuccessRate.objects.get_or_create(
        workspace_id=modification.workspace_id,
        error_type=error_type,
        source=modification.source[:128],
        strategy=strategy_of(modification),
    )
    SuccessRate.objects.filter(pk=rate.pk).update(
        attempts=F("attempts") + 1,
        successes=F("successes") + int(success),
        updated_at=timezone.now(),
    )


def note_application(modification: Modification) -> None:
    """Count one application against the shared rate limit."""
    ratelimit.note(modification.pk)
