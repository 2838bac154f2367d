"""Confidence scoring and calibration (issue #5). See docs/architecture.md for the contract.

CONTRACT PLACEHOLDER: the judgement issue replaces this module's body (measured components,
calibration, thresholds per error type from tunables) and keeps these names and signatures.
Until then: a plain softmax of the agent's logits and the design's default thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT_THRESHOLDS = {"syntax": 0.95, "logic": 0.80, "runtime": 0.80, "performance": 0.85, "security": 0.90}
FLOOR = 0.2


@dataclass
class ConfidenceGate:
    auto_apply_ok: bool  # at or above the error type's threshold
    reject: bool  # below the floor: rejected on the score alone
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def score_modification(modification: Any, sandbox: Any = None) -> dict[str, Any]:
    """Compute and store the ConfidenceScore of a modification; returns its JSON form."""
    logits = (modification.envelope.get("confidence_scoring") or {}).get("logits") or []
    if logits:
        peak = max(logits)
        exps = [math.exp(x - peak) for x in logits]
        overall = max(exps) / sum(exps)
    else:
        overall = float((modification.envelope.get("confidence_scoring") or {}).get("overall_confidence", 0.5))
    detail = {"overall_confidence": overall, "calibration_method": "uncalibrated", "placeholder": True}
    modification.confidence = overall
    modification.confidence_detail = detail
    modification.save(update_fields=["confidence", "confidence_detail"])
    return detail


def confidence_gate(modification: Any) -> ConfidenceGate:
    """Threshold per error type (should_attempt_fix) and the rejection floor."""
    threshold = DEFAULT_THRESHOLDS.get(modification.error_type or "logic", 0.8)
    score = modification.confidence if modification.confidence is not None else 0.0
    if score < FLOOR:
        return ConfidenceGate(False, True, f"confidence {score:.2f} below the floor {FLOOR}")
    if score < threshold:
        return ConfidenceGate(False, False, f"confidence {score:.2f} below the {modification.error_type} threshold {threshold}")
    return ConfidenceGate(True, False, f"confidence {score:.2f} ≥ threshold {threshold}")
