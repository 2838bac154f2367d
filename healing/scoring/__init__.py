"""Confidence scoring and calibration (issue #5). See docs/architecture.md for the contract.

CONTRACT PLACEHOLDER: the judgement issue replaces this module's body; other areas call only the
names below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConfidenceGate:
    auto_apply_ok: bool  # at or above the error type's threshold
    reject: bool  # below the floor: rejected on the score alone
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def score_modification(modification: Any, sandbox: Any = None) -> dict[str, Any]:
    """Compute and store the ConfidenceScore of a modification; returns its JSON form."""
    raise NotImplementedError("confidence scoring lands with issue #5")


def confidence_gate(modification: Any) -> ConfidenceGate:
    """Threshold per error type (should_attempt_fix) and the rejection floor."""
    raise NotImplementedError("confidence scoring lands with issue #5")
