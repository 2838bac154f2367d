"""The evidence model: fitted from outcomes by the beat refit, the formula deciding until then,
and the out-of-fold ECE and Brier score of whichever decides shown over the API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from healing.actions import do_change_setting
from healing.breakers import record_outcome
from healing.models import CalibrationFit
from healing.sandbox import SandboxResult
from healing.sandbox import TestOutcome as Case
from healing.scoring import confidence_gate, score_modification
from healing.scoring.tasks import refit_calibration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roomy_breakers() -> None:
    # The failures recorded here are training data, not a runaway engine.
    do_change_setting(None, "engine_breaker.failure_threshold", 1000)
    do_change_setting(None, "breaker.logic.max_attempts", 1000)
    do_change_setting(None, "breaker.logic.error_budget", 1.0)


def run(repairs: bool, coverage: float) -> SandboxResult:
    """A passing run on a red baseline: the patch repairs the failing test, or leaves it."""
    return SandboxResult(
        ok=True,
        isolation_level="partial",
        coverage=coverage,
        tests=[Case("t::a", "passed"), Case("t::b", "passed" if repairs else "failed")],
        fixed=["t::b"] if repairs else [],
        detail={"baseline_failing": ["t::b"]},
    )


def patch(workspace: Any, repairs: bool, coverage: float, source: str = "engine-a") -> Any:
    mod = factories.make_modification(
        workspace,
        error_type="logic",
        source=source,
        safety_level="SAFE",
        envelope={"confidence_scoring": {"logits": [1.0, 0.8, 0.5]}},
    )
    score_modification(mod, run(repairs, coverage))
    return mod


def outcomes(workspace: Any, n: int, seed: int = 3) -> None:
    """Patches that repair their test are mostly kept; those that do not mostly are not. The
    agent's logits say the same for all: only the evidence tells them apart."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        repairs = bool(i % 2)
        mod = patch(workspace, repairs, float(rng.uniform(0.6, 1.0)), source=f"engine-{i % 3}")
        kept = rng.random() < (0.9 if repairs else 0.15)
        record_outcome(mod, success=bool(kept), stage="apply" if kept else "sandbox")


def test_it_scores_with_the_formula_until_enough_outcomes_exist(workspace: Any) -> None:
    outcomes(workspace, 30)
    result = refit_calibration.apply().get()
    assert result["decider"]["decided_by"] == "formula"
    assert result["decider"]["n_samples"] == 30 and result["decider"]["needed"] == 50
    detail = score_modification(patch(workspace, True, 1.0), run(True, 1.0))
    assert detail["decided_by"] == "formula"
    assert detail["overall_confidence"] == detail["formula_score"]
    quality = detail["quality"]
    assert quality["method"] == "formula" and quality["n"] == 30
    assert 0.0 <= quality["ece"] <= 1.0 and 0.0 <= quality["brier"] <= 1.0


def test_it_fits_the_evidence_model_and_scores_with_it(workspace: Any) -> None:
    outcomes(workspace, 80)
    result = refit_calibration.apply().get()
    decider = result["decider"]
    assert decider["decided_by"] == "evidence_logistic" and decider["n_samples"] == 80
    fit = CalibrationFit.objects.decider()
    assert fit is not None and fit.method == "evidence_logistic"
    # Out of fold, the model is better calibrated and sharper than the formula on the same patches.
    assert fit.brier_calibrated < fit.brier_raw and fit.ece_calibrated < fit.ece_raw
    assert sum(b["count"] for b in fit.reliability["calibrated"]) == 80
    # Nothing new since: the next beat keeps the fit rather than adding a row.
    assert refit_calibration.apply().get()["decider"]["id"] == fit.pk
    assert CalibrationFit.objects.filter(method="evidence_logistic").count() == 1

    good = patch(workspace, True, 1.0, source="engine-new")
    bad = patch(workspace, False, 1.0, source="engine-new")
    assert good.confidence_detail["decided_by"] == "evidence_logistic"
    assert good.confidence is not None and bad.confidence is not None
    assert good.confidence > 0.75 > 0.3 > bad.confidence
    assert good.confidence_detail["quality"]["brier"] == pytest.approx(fit.brier_calibrated)
    pulls = good.confidence_detail["model"]["pulls"]
    assert {"repaired", "repaired_any", "still_failing"} & {p["feature"] for p in pulls}
    gate = confidence_gate(good)
    assert "(evidence model)" in gate.reason


def test_it_shows_the_ece_and_brier_of_what_decides_over_the_api(
    api_as: Any, reviewer: Any, workspace: Any
) -> None:
    client = api_as(reviewer)
    before = client.get("/api/v1/calibration/").json()["decides"]
    assert before["method"] == "formula" and before["ece"] is None and before["n_samples"] == 0
    outcomes(workspace, 60)
    refit_calibration.apply().get()
    decides = client.get("/api/v1/calibration/").json()["decides"]
    fit = CalibrationFit.objects.get(method="evidence_logistic", is_active=True)
    assert decides["method"] == "evidence_logistic" and decides["n_samples"] == 60
    assert (decides["ece"], decides["brier"]) == (fit.ece_calibrated, fit.brier_calibrated)
    assert (decides["formula_ece"], decides["formula_brier"]) == (fit.ece_raw, fit.brier_raw)
    assert decides["needed"] == 50


def test_it_shows_the_score_its_reasons_and_its_figures_on_the_review_page(
    workspace: Any, reviewer: Any
) -> None:
    from django.test import Client

    outcomes(workspace, 60)
    refit_calibration.apply().get()
    mod = patch(workspace, True, 1.0, source="engine-new")
    fit = CalibrationFit.objects.get(method="evidence_logistic", is_active=True)
    client = Client()
    client.force_login(reviewer)
    html = client.get(f"/patches/{mod.pk}/").content.decode()
    assert (
        f"Decided by evidence_logistic: out-of-fold ECE {fit.ece_calibrated:.3f}, "
        f"Brier {fit.brier_calibrated:.3f} on 60 outcomes"
    ) in html
    assert "2 test(s) ran; repairs 1 failing test(s) (t::b)" in html
    assert "source engine-new: 0 kept of 0 outcome(s) on this workspace and error type" in html
