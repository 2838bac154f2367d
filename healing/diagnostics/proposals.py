"""How the engine's own fixes enter the pipeline: as ordinary modifications through intake.

`propose_modification` is the one seam. The contract is
`healing.intake.do_submit_patch(envelope, *, submitted_by, source) -> Modification`; once intake
(issue #3) is on the branch, that is what runs, and the fix meets exactly the same validation,
sandbox, breakers and approvals as an agent's patch. Until then (this branch alone) the adapter
records the modification as `received` with its envelope and an audit event — nothing processes
it further. The lead removes the interim branch at merge.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from healing.actions.audit import record_event
from healing.models import Modification, Workspace


class ProposalError(Exception):
    """Intake refused the proposal (field messages in `fields`)."""

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def diff_files(diff: str) -> list[str]:
    try:
        return [f.path for f in PatchSet(diff)]
    except UnidiffParseError as exc:
        raise ProposalError(f"the diff does not parse: {exc}") from exc


def build_envelope(
    workspace: Workspace,
    *,
    diff: str,
    source: str,
    language: str,
    error_type: str,
    severity: str,
    confidence: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = source.split(":", 1)[0]
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in source.split(":", 1)[-1])[:40]
    scoring: dict[str, Any] = {}
    if confidence is not None:
        scoring["overall_confidence"] = round(confidence, 4)
    return {
        "schema_version": "2.0",
        "patch_id": f"{kind}-{slug}-{uuid.uuid4().hex[:10]}",
        "workspace": workspace.name,
        "language": language,
        "error_classification": {"error_type": error_type, "severity": severity},
        "confidence_scoring": scoring,
        "patch_data": {
            "diff": diff,
            "metadata": {"generator": "selfheal.diagnostics", **(metadata or {})},
        },
    }


def propose_modification(
    envelope: dict[str, Any], *, workspace: Workspace, submitted_by: Any, source: str
) -> Modification:
    """Submit one of the engine's own patches. Raises ProposalError when intake refuses it."""
    try:
        from healing.intake import do_submit_patch  # type: ignore[attr-defined]
    except ImportError:
        do_submit_patch = None
    if do_submit_patch is not None:
        try:
            return do_submit_patch(envelope, submitted_by=submitted_by, source=source)
        except Exception as exc:  # IntakeError carries field messages; keep them with the proposal
            if type(exc).__name__ == "IntakeError":
                raise ProposalError(
                    str(exc), getattr(exc, "fields", None) or getattr(exc, "errors", None)
                ) from exc
            raise
    return _record_received(envelope, workspace=workspace, submitted_by=submitted_by, source=source)


@transaction.atomic
def _record_received(
    envelope: dict[str, Any], *, workspace: Workspace, submitted_by: Any, source: str
) -> Modification:
    """Interim until intake lands: store the modification as received, with its audit event."""
    diff = envelope["patch_data"]["diff"]
    classification = envelope.get("error_classification", {})
    modification = Modification.objects.create(
        workspace=workspace,
        patch_id=envelope["patch_id"],
        source=source,
        submitted_by=submitted_by if getattr(submitted_by, "pk", None) else None,
        language=envelope["language"],
        envelope=envelope,
        diff=diff,
        files=diff_files(diff),
        claimed_error_type=classification.get("error_type", ""),
        claimed_severity=classification.get("severity", ""),
    )
    record_event(
        "modification.received",
        submitted_by if getattr(submitted_by, "pk", None) else source,
        workspace_id=workspace.pk,
        modification_id=modification.pk,
        to_state=modification.status,
        reason="proposed by self-debugging",
        data={"patch_id": modification.patch_id, "source": source},
    )
    return modification
