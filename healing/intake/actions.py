"""The intake stage's actions: store a submitted patch as received (do_submit_patch), then
validate it and move it on (do_process_modification)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from .. import breakers
from ..actions import ConcurrentTransition, record_event, transition
from ..actions.queue import do_reclaim_validation
from ..actions.unblock import do_block
from ..models import InvalidTransition, Modification, Workspace
from ..models.modification import ModificationStatus
from ..policy import assess_safety
from ..queueing import DATABASE_DOWN
from ..remote.credentials import CredentialsMissing
from ..remote.mirror import RemoteError, refresh_if_remote
from ..validation import Finding, Report, StageResult, context_for, run_pipeline
from ..validation.diff import DiffParseError, file_changes, parse_diff
from .envelope import IntakeError, build_diff, validate_envelope

log = logging.getLogger(__name__)
S = ModificationStatus
ACTOR = "system:intake"


def _diff_of(patch_data: dict[str, Any]) -> str:
    diff = patch_data.get("diff")
    if diff:
        return diff
    # A hostile file_path is let through here on purpose: validation rejects it with a finding.
    built = build_diff(
        patch_data["original_code"], patch_data["patched_code"], patch_data["file_path"]
    )
    if not built:
        raise IntakeError(
            {
                "patch_data.patched_code": [
                    "patched_code is identical to original_code: nothing to change."
                ]
            }
        )
    return built


def do_submit_patch(envelope: Any, *, submitted_by: User | None, source: str) -> Modification:
    envelope = validate_envelope(envelope)
    workspace = Workspace.objects.active().filter(name=envelope["workspace"]).first()
    if workspace is None:
        raise IntakeError({"workspace": [f"No active workspace named {envelope['workspace']!r}."]})
    diff = _diff_of(envelope["patch_data"])
    field = "patch_data.diff" if envelope["patch_data"].get("diff") else "patch_data"
    try:
        files = file_changes(parse_diff(diff))
    except DiffParseError as exc:
        raise IntakeError({field: [str(exc)]}) from None
    classification = envelope["error_classification"]
    with transaction.atomic():
        # patch_id is unique per submitter: another agent's ids are neither seen nor claimed.
        mine = (
            Modification.objects.filter(submitted_by=submitted_by)
            if submitted_by is not None
            else Modification.objects.filter(submitted_by__isnull=True, source=source[:128])
        )
        if mine.filter(patch_id=envelope["patch_id"]).exists():
            raise _duplicate(envelope["patch_id"])
        try:
            with transaction.atomic():
                mod = Modification.objects.create(
                    workspace=workspace,
                    patch_id=envelope["patch_id"],
                    source=source[:128],
                    submitted_by=submitted_by,
                    language=envelope["language"],
                    envelope=envelope,
                    diff=diff,
                    files=sorted({c.path for c in files}),
                    claimed_error_type=classification["error_type"],
                    claimed_severity=classification["severity"],
                )
        except IntegrityError:
            raise _duplicate(envelope["patch_id"]) from None
        record_event(
            "modification.received",
            submitted_by if submitted_by is not None else source,
            workspace_id=workspace.pk,
            modification_id=mod.pk,
            to_state=mod.status,
            data={"patch_id": mod.patch_id, "source": source, "files": mod.files},
        )
        transaction.on_commit(lambda: _enqueue(mod.pk))
    return mod


def _duplicate(patch_id: str) -> IntakeError:
    return IntakeError(
        {"patch_id": [f"A patch with id {patch_id!r} was already submitted."]},
        status=409,
        error="conflict",
        detail="Duplicate patch_id.",
    )


def _enqueue(modification_id: int) -> None:
    from ..queueing import send_later

    send_later("healing.process_modification", modification_id)


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

    send_later("healing.sandbox_modification", modification_id)
