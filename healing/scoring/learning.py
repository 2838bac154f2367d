"""Refitting the calibrator and the evidence model from real outcomes, and learning thresholds
within the admin's bounds.

Labels: the final outcome of each scored modification (its latest Outcome row): applied and kept
is right; rejected in the sandbox, failed or rolled back is wrong. A patch that passed the sandbox
but was never applied (rejected on its score, waiting for a person) has no label yet: nothing
says whether it would have stayed applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from .. import tunables
from ..actions import record_event
from ..models import (
    AdaptiveThreshold,
    CalibrationFit,
    ConfidenceScore,
    Outcome,
    ThresholdAdaptation,
)
from ..models.scoring import CalibrationMethod
from ..tunables import DEFAULT_THRESHOLDS
from . import model as evidence_model
from .calibration import CALIBRATORS, Samples, cross_validated, ece, reliability


@dataclass
class LabelledScores:
    samples: Samples
    overall: np.ndarray
    error_types: list[str]
    details: list[dict[str, Any]]


def final_labels() -> dict[int, int]:
    """modification id → 1 (applied and kept) or 0 (failed, rejected in the sandbox, rolled back)."""
    labels = {}
    for pk, stage, success in Outcome.objects.final_per_modification().values_list(
        "modification_id", "stage", "success"
    ):
        if stage == "rollback" or not success:
            labels[pk] = 0
        elif stage in ("apply", "verify"):
            labels[pk] = 1
    return labels


def labelled_scores() -> LabelledScores:
    finals = final_labels()
    rows = list(
        ConfidenceScore.objects.filter(modification_id__in=list(finals))
        .order_by("modification_id")
        .values_list(
            "modification_id",
            "logits",
            "base_probability",
            "overall",
            "modification__error_type",
            "modification__confidence_detail",
        )
    )
    return LabelledScores(
        Samples.build(
            [r[1] or [] for r in rows], [r[2] for r in rows], [finals[r[0]] for r in rows]
        ),
        np.array([r[3] for r in rows], dtype=float),
        [r[4] or "logic" for r in rows],
        [r[5] if isinstance(r[5], dict) else {} for r in rows],
    )


@transaction.atomic
def do_refit_calibration(method: str | None = None) -> dict[str, Any]:
    """Fit the chosen calibrator if enough outcomes exist; store it (active) with its ECE and
    reliability diagram. ECE after calibration is measured out of fold (5-fold), not on the
    samples the fit saw."""
    method = method or tunables.get("scoring.calibration_method")
    minimum = tunables.get("scoring.calibration_min_outcomes")
    data = labelled_scores()
    n = len(data.samples)
    if n < minimum:
        return {
            "status": "uncalibrated",
            "n_samples": n,
            "needed": minimum,
            "reason": f"{n} outcomes, {minimum} needed",
        }
    raw = data.samples.at_temperature(1.0)
    calibrator = CALIBRATORS[method]().fit(data.samples)
    out_of_fold = cross_validated(method, data.samples)
    y = data.samples.labels
    fit = CalibrationFit.objects.create(
        method=method,
        params=calibrator.params(),
        n_samples=n,
        ece_raw=ece(raw, y),
        ece_calibrated=ece(out_of_fold, y),
        reliability={
            "raw": reliability(raw, y),
            "calibrated": reliability(out_of_fold, y),
            "bins": 10,
        },
        note="ECE of the calibrated scores is out of fold (5-fold cross-fitting).",
    )
    CalibrationFit.objects.exclude(pk=fit.pk).filter(
        is_active=True, method__in=list(CALIBRATORS)
    ).update(is_active=False)
    CalibrationFit.objects.filter(pk=fit.pk).update(is_active=True)
    fit.is_active = True
    record_event(
        "calibration.refit",
        "system",
        reason=f"{method} on {n} outcomes",
        data={
            "fit_id": fit.pk,
            "params": fit.params,
            "ece_raw": fit.ece_raw,
            "ece_calibrated": fit.ece_calibrated,
        },
    )
    return {"status": "fitted", **fit.as_json()}


@transaction.atomic
def do_refit_confidence_model() -> dict[str, Any]:
    """Decide what scores patches: with enough labelled outcomes (both kinds), fit the evidence
    model and store it active with its out-of-fold ECE and Brier score beside the formula's on the
    same patches; else record the formula's figures (its scores were made before each outcome
    was known, so they are out of sample as they stand)."""
    minimum = tunables.get("scoring.model_min_outcomes")
    data = labelled_scores()
    keep = [i for i, d in enumerate(data.details) if (d.get("evidence") or {}).get("features")]
    y = data.samples.labels[keep]
    formula = np.array(
        [data.details[i].get("formula_score", data.overall[i]) for i in keep], dtype=float
    )
    n = len(keep)
    if not n:
        return {"decided_by": "formula", "n_samples": 0, "needed": minimum}
    can_fit = n >= minimum and evidence_model.fittable(y)
    wanted = CalibrationMethod.EVIDENCE if can_fit else CalibrationMethod.FORMULA
    latest = CalibrationFit.objects.decider()
    if latest is not None and latest.method == wanted and latest.n_samples == n:
        # Nothing new to learn from: keep the record (a beat every 15 minutes adds no rows).
        return {"decided_by": latest.method, **latest.as_json(), "needed": minimum}
    formula_q = evidence_model.quality(np.clip(formula, 0.0, 1.0), y)
    if can_fit:
        x = evidence_model.matrix([data.details[i]["evidence"]["features"] for i in keep])
        fitted = evidence_model.EvidenceModel.fit(x, y)
        model_q = evidence_model.quality(evidence_model.out_of_fold(x, y), y)
        fit = _store_decider(
            CalibrationMethod.EVIDENCE,
            fitted.params(),
            n,
            formula_q,
            model_q,
            "scikit-learn LogisticRegression on the evidence; ECE and Brier out of fold "
            "(stratified 5-fold); raw = the formula on the same patches.",
        )
    else:
        fit = _store_decider(
            CalibrationMethod.FORMULA,
            {},
            n,
            formula_q,
            formula_q,
            f"{n} labelled outcomes, {minimum} (with at least {evidence_model.FOLDS} of each "
            "kind) needed for the evidence model: the formula decides; its scores were made "
            "before each outcome was known.",
        )
    return {"decided_by": fit.method, **fit.as_json(), "needed": minimum}


def _store_decider(
    method: str,
    params: dict[str, Any],
    n: int,
    raw: dict[str, Any],
    decided: dict[str, Any],
    note: str,
) -> CalibrationFit:
    fit = CalibrationFit.objects.create(
        method=method,
        params=params,
        n_samples=n,
        ece_raw=raw["ece"],
        ece_calibrated=decided["ece"],
        brier_raw=raw["brier"],
        brier_calibrated=decided["brier"],
        reliability={"raw": raw["reliability"], "calibrated": decided["reliability"], "bins": 10},
        note=note,
    )
    CalibrationFit.objects.filter(
        is_active=True, method__in=[CalibrationMethod.EVIDENCE, CalibrationMethod.FORMULA]
    ).exclude(pk=fit.pk).update(is_active=False)
    CalibrationFit.objects.filter(pk=fit.pk).update(is_active=True)
    fit.is_active = True
    record_event(
        "confidence_model.refit",
        "system",
        reason=f"{method} decides, on {n} outcomes",
        data={
            "fit_id": fit.pk,
            "ece": fit.ece_calibrated,
            "brier": fit.brier_calibrated,
            "formula_ece": fit.ece_raw,
            "formula_brier": fit.brier_raw,
        },
    )
    return fit


def choose_threshold(
    scores: np.ndarray, labels: np.ndarray, lower: float, upper: float, target: float
) -> tuple[float, dict]:
    """The lowest threshold in [lower, upper] whose precision (share right at or above it) meets
    the target with at least 5 patches above it; else the upper bound."""
    for t in np.round(np.arange(lower, upper + 1e-9, 0.01), 4):
        above = scores >= t
        if above.sum() >= 5 and labels[above].mean() >= target:
            return float(t), {"precision": float(labels[above].mean()), "above": int(above.sum())}
    above = scores >= upper
    return float(upper), {
        "precision": float(labels[above].mean()) if above.any() else None,
        "above": int(above.sum()),
    }


@transaction.atomic
def do_adapt_thresholds() -> list[dict[str, Any]]:
    """Move each error type's threshold within ± learning.max_threshold_shift of the admin's value;
    every change is a ThresholdAdaptation row and an audit event."""
    from . import threshold_for

    values = tunables.get_many(["learning.target_precision", "learning.min_outcomes"])
    data = labelled_scores()
    types = np.array(data.error_types)
    changes = []
    for error_type in DEFAULT_THRESHOLDS:
        mask = types == error_type
        limits = threshold_for(error_type)
        if mask.sum() < values["learning.min_outcomes"]:
            continue
        new, evidence = choose_threshold(
            data.overall[mask],
            data.samples.labels[mask],
            limits["lower"],
            limits["upper"],
            values["learning.target_precision"],
        )
        if abs(new - limits["threshold"]) < 1e-9:
            continue
        AdaptiveThreshold.objects.update_or_create(
            error_type=error_type,
            defaults={"shift": new - limits["base"], "updated_at": timezone.now()},
        )
        evidence = {
            **evidence,
            "target_precision": values["learning.target_precision"],
            "admin_threshold": limits["base"],
        }
        ThresholdAdaptation.objects.create(
            error_type=error_type,
            old_threshold=limits["threshold"],
            new_threshold=new,
            lower_bound=limits["lower"],
            upper_bound=limits["upper"],
            n_samples=int(mask.sum()),
            evidence=evidence,
        )
        record_event(
            "threshold.adapt",
            "system",
            from_state=f"{limits['threshold']:.2f}",
            to_state=f"{new:.2f}",
            reason=f"{error_type}: precision target {values['learning.target_precision']} on {int(mask.sum())} outcomes",
            data={
                "error_type": error_type,
                "bounds": [limits["lower"], limits["upper"]],
                **evidence,
            },
        )
        changes.append(
            {"error_type": error_type, "old": limits["threshold"], "new": new, **evidence}
        )
    return changes
