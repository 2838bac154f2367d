"""The intake stage's action: validate one received modification and move it on."""

from __future__ import annotations

import logging
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from .. import breakers
from ..actions import ConcurrentTransition, transition
from ..actions.queue import do_reclaim_validation
from ..actions.unblock import do_block
from ..models import InvalidTransition, Modification
from ..models.modification import ModificationStatus
from ..policy import assess_safety
from ..queueing import DATABASE_DOWN
from ..remote.credentials import CredentialsMissing
from ..remote.mirror import RemoteError, refresh_if_remote
from ..validation import Finding, Report, StageResult, context_for, run_pipeline

log = logging.getLogger(__name__)
S = ModificationStatus
ACTOR = "system:intake"


def do_process_modification(
    modification_id: int, handed_over_at: datetime | None = None
) -> Modification | None:
    """Claim received → validating, run the stages, assess safety, run the intake pre-flight,
    then → rejected | blocked | sandboxing (and queue the sandbox after commit).
    `handed_over_at`: the patch was put in validating by someone else (the apply found HEAD had
    moved) at that time; see do_reclaim_validation."""
    mod = Modification.objects.select_related("workspace").filter(pk=modification_id).first()
    if mod is None:
        return None
    if mod.status == S.VALIDATING:
        # Its worker went away mid-validation (or this is a duplicate delivery: then the claim
        # is fresh and we leave it alone).
        if not do_reclaim_validation(mod, handed_over_at):
            return None
    else:
        try:
            transition(mod, S.VALIDATING, ACTOR, "validation started", expected_from=S.RECEIVED)
        except (ConcurrentTransition, InvalidTransition):
            return None  # someone else has it, or it has moved on (cancelled, blocked)
    try:
        refresh_if_remote(mod.workspace)  # this worker's mirror, fetched before validation
    except (RemoteError, CredentialsMissing) as exc:
        return _remote_unavailable(mod, exc)
    try:
        report = run_pipeline(context_for(mod))
    except DATABASE_DOWN:
        raise  # not the patch's fault: the task retries, the row stays in validating
    except SoftTimeLimitExceeded:
        raise  # the task rejects it as timed out, with the stage and the limit
    except Exception as exc:  # noqa: BLE001 - our bug must not leave a patch in validating forever
        log.exception("validation of modification %s crashed", modification_id)
        report = _crashed(mod, exc)
    return _conclude(mod, report)


def _remote_unavailable(mod: Modification, exc: Exception) -> Modification:
    """No fetch of the remote, and none to fall back on. Refused (no such repository, credentials
    refused or missing): rejected with git's words. Unreachable: blocked, and the sweep resumes
    intake once the remote answers again (with a growing wait between its probes)."""
    from ..actions.unblock import REMOTE_DOWN, remote_unreachable

    if isinstance(exc, CredentialsMissing) or (isinstance(exc, RemoteError) and exc.is_permanent):
        return transition(
            mod,
            S.REJECTED,
            ACTOR,
            f"the remote refused the fetch: {exc}"[:1000],
            expected_from=S.VALIDATING,
            data={"error": str(exc)[:2000]},
        )
    return do_block(
        mod,
        ACTOR,
        f"{REMOTE_DOWN}: {exc}"[:1000],
        [remote_unreachable(mod)],
        expected_from=S.VALIDATING,
        resume_at=S.RECEIVED,
        data={"error": str(exc)[:2000]},
    )


def _crashed(mod: Modification, exc: Exception) -> Report:
    from ..validation import ValidationContext

    ctx = ValidationContext(workspace=mod.workspace, diff=mod.diff, risk_level="none")
    finding = Finding(
        "critical",
        f"validation could not complete ({type(exc).__name__}); rejected to be safe",
        "validation.crashed",
        blocking=True,
    )
    return Report(ctx, [StageResult("validation", [finding], 0.0)])


@transaction.atomic
def _conclude(mod: Modification, report: Report) -> Modification:
    ctx = report.ctx
    mod.validation = report.as_json()
    mod.risk_level = ctx.risk_level
    mod.base_commit = ctx.head_commit
    mod.inferred_error_type = ctx.inferred_error_type
    mod.inferred_severity = ctx.inferred_severity
    mod.error_type = ctx.error_type or mod.claimed_error_type
    mod.severity = ctx.severity or mod.claimed_severity
    mod.classification_note = ctx.classification_note
    mod.safety_level, mod.safety_rule = assess_safety(mod)
    preflight = breakers.run_preflight(mod, stage="intake")  # stored as mod.preflight["intake"]
    mod.save(
        update_fields=[
            "validation",
            "risk_level",
            "base_commit",
            "inferred_error_type",
            "inferred_severity",
            "error_type",
            "severity",
            "classification_note",
            "safety_level",
            "safety_rule",
            "updated_at",
        ]
    )
    summary = {
        "safety_level": mod.safety_level,
        "safety_rule": mod.safety_rule,
        "risk_level": mod.risk_level,
    }
    if report.rejected:
        return transition(
            mod, S.REJECTED, ACTOR, report.reject_reason(), expected_from=S.VALIDATING, data=summary
        )
    if not preflight.ok:
        reason = "; ".join(c.reason or c.name for c in preflight.blocking)
        # When the block lifts the patch starts intake again from the top (blocked → received,
        # then process_modification), since HEAD and the settings may have moved meanwhile.
        return do_block(
            mod,
            ACTOR,
            reason,
            preflight.blocked_by,
            expected_from=S.VALIDATING,
            resume_at=S.RECEIVED,
            data=summary,
        )
    mod = transition(
        mod,
        S.SANDBOXING,
        ACTOR,
        f"validated: {mod.safety_level} ({mod.safety_rule})",
        expected_from=S.VALIDATING,
        data=summary,
    )
    transaction.on_commit(lambda: _enqueue_sandbox(mod.pk))
    return mod


def _enqueue_sandbox(modification_id: int) -> None:
    from ..queueing import send_later
    from ..sandbox.tasks import sandbox_modification

    send_later(sandbox_modification, modification_id)
