"""Patch intake: a validated envelope in, a received Modification out.

`actions.do_submit_patch(envelope, submitted_by=user, source="agent:<name>")` checks the envelope
against the versioned JSON Schema, resolves the workspace, makes sure the diff parses (building
it from original_code + patched_code + file_path when no diff is given), stores the modification
as `received` with an audit event, and hands it to `healing.process_modification` after commit.
It raises IntakeError (field → messages, with the HTTP status to answer) and stores nothing then.
"""

from __future__ import annotations

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
    "schema",
    "validate_envelope",
]
