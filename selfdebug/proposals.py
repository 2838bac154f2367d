"""How the engine's own fixes enter the pipeline: as ordinary modifications through intake.

`propose_modification` is the one seam: `healing.intake.actions.do_submit_patch`, so a fix meets exactly
the same validation, sandbox, breakers and approvals as an agent's patch."""

from __future__ import annotations

import uuid
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from healing.intake import IntakeError
from healing.intake.actions import do_submit_patch
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
    """Submit one of the engine's own patches through the same intake as any agent's.
    Raises ProposalError (with intake's field messages) when intake refuses it."""
    try:
        return do_submit_patch(envelope, submitted_by=submitted_by, source=source)
    except IntakeError as exc:
        raise ProposalError(str(exc), exc.fields) from exc
