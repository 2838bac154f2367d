"""Confidence scoring and calibration. See docs/architecture.md for the contract.

    score_modification(mod, sandbox=None) -> dict     stores a ConfidenceScore, mod.confidence(_detail)
    confidence_gate(mod) -> ConfidenceGate            threshold per error type and the floor

The score estimates P(the patch, if applied, stays applied). Once enough outcomes exist the
evidence model (model.py, fitted by the beat refit in learning.py) decides it from what was
measured about the patch (evidence.py); until then the design's formula (formula.py) does, with
components measured from the patch's own source only (components.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from .. import tunables as registry
from ..models import CalibrationFit, Modification
from ..models.scoring import CalibrationMethod
from ..tunables import DEFAULT_THRESHOLDS
from . import components as c
from . import evidence as ev
from .calibration import CALIBRATORS, Calibrator
from .formula import base_probability, combine, model_probability
from .model import EvidenceModel

ERROR_TYPES = tuple(DEFAULT_THRESHOLDS)


@dataclass
class ConfidenceGate:
    auto_apply_ok: bool  # at or above the error type's threshold
    reject: bool  # no test evidence and below the floor: rejected on the score alone
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def active_calibrator() -> tuple[CalibrationFit | None, Calibrator | None]:
    """The active fit, when it is of the method an admin chose; else none (uncalibrated)."""
    fit = CalibrationFit.objects.active(registry.get("scoring.calibration_method"))
    if (
        fit is None
        or fit.method != registry.get("scoring.calibration_method")
        or fit.method not in CALIBRATORS
    ):
        return None, None
    return fit, CALIBRATORS[fit.method].from_params(fit.params)


def _logits(modification: Modification) -> list[float]:
    raw = ((modification.envelope or {}).get("confidence_scoring") or {}).get("logits") or []
    try:
        values = [float(x) for x in raw][:1000]
    except (TypeError, ValueError):
        return []
    return values if all(abs(v) < 1e6 for v in values) else []


def error_type_of(modification: Modification) -> str:
    return modification.error_type if modification.error_type in ERROR_TYPES else "logic"


@transaction.atomic
def score_modification(modification: Modification, sandbox: Any = None) -> dict[str, Any]:
    """Compute and store the ConfidenceScore of a modification; returns its JSON form."""
    settings = registry.get_many(
        [
            "scoring.temperature",
            "scoring.history_prior_mean",
            "scoring.history_prior_strength",
            "scoring.pattern_weight",
        ],
        modification.workspace,
    )
    claimed = c.claims(modification)
    logits = _logits(modification)
    error_type = error_type_of(modification)
    base = base_probability(logits, claimed.get("overall_confidence"))
    fit, calibrator = active_calibrator()
    if calibrator is None:
        temperature = settings["scoring.temperature"]
    else:  # beta calibration maps softmax at T = 1
        temperature = float(getattr(calibrator, "temperature", 1.0))
    p = model_probability(logits, base, settings["scoring.temperature"], calibrator)
    parts = {
        "historical_success": c.historical_success(
            modification,
            error_type,
            settings["scoring.history_prior_mean"],
            settings["scoring.history_prior_strength"],
            claimed.get("historical_success"),
        ),
        "pattern_similarity": c.pattern_similarity(
            modification, settings["scoring.pattern_weight"], claimed.get("pattern_similarity")
        ),
        "complexity_penalty": c.complexity_penalty(modification, claimed.get("complexity_penalty")),
        "test_coverage": c.test_coverage(
            sandbox, claimed.get("test_coverage"), modification.workspace
        ),
    }
    formula_score = combine(p, {name: part.used for name, part in parts.items()})
    evidence = ev.measure(modification, sandbox, p, bool(logits), parts)
    decision = _decide(evidence, formula_score)
    overall = decision["score"]
    syntax = c.syntax_confidence(modification, claimed.get("syntax_confidence"))
    logic = c.logic_confidence(sandbox, claimed.get("logic_confidence"))
    method = fit.method if fit is not None else "uncalibrated"
    detail = {
        "overall_confidence": round(overall, 6),
        "decided_by": decision["method"],
        "formula_score": round(formula_score, 6),
        "quality": decision["quality"],
        "evidence": evidence,
        "reasons": ev.reasons(evidence),
        "model": decision.get("model"),
        "syntax_confidence": round(syntax.used, 6),
        "logic_confidence": round(logic.used, 6),
        "calibration_method": method,
        "calibrated": fit is not None,
        "calibration_fit_id": fit.pk if fit else None,
        "model_probability": {
            "base": round(base, 6),
            "calibrated": round(p, 6),
            "temperature": temperature,
            "from": "logits"
            if logits
            else (
                "claimed overall_confidence" if "overall_confidence" in claimed else "default 0.5"
            ),
        },
        "claimed_overall_confidence": claimed.get("overall_confidence"),
        "confidence_components": {name: part.as_json() for name, part in parts.items()},
        "syntax": syntax.as_json(),
        "logic": logic.as_json(),
        "formula": "p × historical_success × pattern_similarity × complexity_penalty × (0.5 + 0.5 × test_coverage), p = softmax(logits / T)",
    }
    from ..actions.modifications import do_record_score

    do_record_score(
        modification,
        overall,
        detail,
        {
            "logits": logits,
            "base_probability": base,
            "temperature": temperature,
            "raw_probability": model_probability(
                logits, base, settings["scoring.temperature"], None
            ),
            "calibrated_probability": p,
            "calibration_method": method,
            "calibration_fit": fit,
            "components": detail["confidence_components"],
            "overall": overall,
            "syntax_confidence": syntax.used,
            "logic_confidence": logic.used,
        },
    )
    return detail


def _decide(evidence: dict[str, Any], formula_score: float) -> dict[str, Any]:
    """The evidence model's probability once fitted, else the formula's score; with the out-of-fold
    ECE and Brier score of whichever decides (None before any outcome was measured)."""
    record = CalibrationFit.objects.decider()
    quality: dict[str, Any] = {
        "method": "formula",
        "ece": None,
        "brier": None,
        "n": 0,
        "fit_id": None,
    }
    if record is not None:
        quality = {
            "method": record.method,
            "ece": record.ece_calibrated,
            "brier": record.brier_calibrated,
            "n": record.n_samples,
            "fit_id": record.pk,
        }
    if record is None or record.method != CalibrationMethod.EVIDENCE:
        return {"method": "formula", "score": formula_score, "quality": quality}
    model = EvidenceModel.from_params(record.params)
    return {
        "method": record.method,
        "score": model.predict(evidence["features"]),
        "quality": quality,
        "model": {"fit_id": record.pk, "pulls": model.contributions(evidence["features"])},
    }


def threshold_for(error_type: str, workspace: Any = None) -> dict[str, float]:
    """The admin's threshold, the learnt shift and the bounds it is kept within."""
    from ..models import AdaptiveThreshold

    values = registry.get_many(
        [f"scoring.threshold.{error_type}", "learning.max_threshold_shift", "scoring.floor"],
        workspace,
    )
    base = values[f"scoring.threshold.{error_type}"]
    bound = values["learning.max_threshold_shift"]
    shift = (
        AdaptiveThreshold.objects.filter(error_type=error_type)
        .values_list("shift", flat=True)
        .first()
        or 0.0
    )
    shift = min(max(shift, -bound), bound)
    lower = round(max(values["scoring.floor"], base - bound), 6)
    upper = round(min(1.0, base + bound), 6)
    return {
        "base": base,
        "shift": shift,
        "threshold": round(min(max(base + shift, lower), upper), 6),
        "lower": lower,
        "upper": upper,
        "floor": values["scoring.floor"],
    }


def confidence_gate(modification: Modification) -> ConfidenceGate:
    """should_attempt_fix: threshold per error type. The floor rejects only a patch with no test
    evidence at all (counting measured components only, so a missing history never rejects it);
    a patch whose tests ran is judged by that evidence, and below the threshold waits for a person."""
    error_type = error_type_of(modification)
    limits = threshold_for(error_type, modification.workspace)
    detail = dict(modification.confidence_detail or {})
    score = modification.confidence
    method = detail.get("calibration_method", "uncalibrated")
    label = _label(detail)
    reasons = list(detail.get("reasons") or [])
    info = {
        "error_type": error_type,
        "score": score,
        "calibration_method": method,
        "decided_by": detail.get("decided_by", "formula"),
        "reasons": reasons,
        **limits,
    }
    if score is None:
        return ConfidenceGate(False, False, "no confidence score yet: waits for a person", info)
    tested = bool((detail.get("evidence") or {}).get("tests_run"))
    floor_score = (
        score if detail.get("decided_by") == "evidence_logistic" else _measured_only(detail)
    )
    info["floor_score"] = floor_score
    if not tested and floor_score is not None and floor_score < limits["floor"]:
        return ConfidenceGate(
            False,
            True,
            f"confidence {floor_score:.2f}{label} with no test evidence is below the floor {limits['floor']:.2f}",
            info,
        )
    if score < limits["threshold"]:
        why = f" ({'; '.join(reasons[:4])})" if reasons else ""
        return ConfidenceGate(
            False,
            False,
            f"confidence {score:.2f}{label} is below the {error_type} threshold {limits['threshold']:.2f}: waits for a person{why}",
            info,
        )
    return ConfidenceGate(
        True,
        False,
        f"confidence {score:.2f}{label} ≥ the {error_type} threshold {limits['threshold']:.2f}",
        info,
    )


def _label(detail: dict[str, Any]) -> str:
    if detail.get("decided_by") == "evidence_logistic":
        return " (evidence model)"
    return "" if detail.get("calibrated") else " (uncalibrated)"


def _measured_only(detail: dict[str, Any]) -> float | None:
    """The score with every component that was not measured set to neutral (1.0)."""
    model = detail.get("model_probability") or {}
    p = model.get("calibrated")
    if p is None:
        return None
    used = {}
    for name, part in (detail.get("confidence_components") or {}).items():
        used[name] = part.get("measured", 1.0) if isinstance(part, dict) else 1.0
    return combine(p, used)


__all__ = ["ConfidenceGate", "confidence_gate", "score_modification", "threshold_for"]
