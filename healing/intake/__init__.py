"""Patch intake (issue #3): a validated envelope in, a received Modification out.

`do_submit_patch(envelope, submitted_by=user, source="agent:<name>")` checks the envelope
against the versioned JSON Schema, resolves the workspace, makes sure the diff parses (building
it from original_code + patched_code + file_path when no diff is given), stores the modification
as `received` with an audit event, and hands it to `healing.process_modification` after commit.
It raises IntakeError (field → messages, with the HTTP status to answer) and stores nothing then.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from ..actions import record_event
from ..models import Modification, Workspace
from ..validation.diff import DiffParseError, file_changes, parse_diff
from .envelope import (
    SCHEMA_VERSION,
    SERVER_SECTIONS,
    IntakeError,
    build_diff,
    decode_body,
    schema,
    validate_envelope,
)

__all__ = [
    "SCHEMA_VERSION",
    "SERVER_SECTIONS",
    "IntakeError",
    "build_diff",
    "decode_body",
    "do_submit_patch",
    "schema",
    "validate_envelope",
]


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
    from .tasks import process_modification

    send_later(process_modification, modification_id)
