"""score_modification() measures its components, keeps the agent's claims beside them, and the
gate applies the threshold per error type and the floor."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.breakers import record_outcome
from healing.models import ConfidenceScore, Modification
from healing.sandbox import SandboxResult
from healing.sandbox import TestOutcome as Case
from healing.scoring import confidence_gate, score_modification
from tests import factories

pytestmark = pytest.mark.django_db

COMPLEX = """def classify(x, y):
    if x > 0 and y > 0:
        return "both"
    elif x > 0:
        return "x"
    elif y > 0:
        return "y"
    for i in range(x):
        if i % 2:
            continue
        while y:
            y -= 1
    return "none"


def simple(a):
    return a
"""

DIFF = """--- a/calc.py
+++ b/calc.py
@@ -1,3 +1,3 @@
 def classify(x, y):
-    if x > 0 and y > 0:
+    if x >= 0 and y >= 0:
         return "both"
"""


def envelope(logits: list[float] | None = None, **claims: Any) -> dict:
    scoring: dict[str, Any] = {"confidence_components": claims}
    if logits is not None:
        scoring["logits"] = logits
    return {"confidence_scoring": scoring}


@pytest.fixture
def calc_workspace(db: Any, tmp_path: Path) -> Any:
    repo = factories.make_git_repo(tmp_path / "calc", {"calc.py": COMPLEX})
    return factories.make_workspace(repo, name="calc")


def test_it_measures_every_component_and_keeps_the_claims_beside(calc_workspace: Any) -> None:
    ws = calc_workspace
    # History: 8 recorded outcomes of this workspace, error type and source, 6 right.
    for success in [True] * 6 + [False] * 2:
        mod = factories.make_modification(ws, error_type="logic", source="agent:bot")
        record_outcome(mod, success=success, stage="apply")
    # A kept patch of the same source that changed the same line the same way.
    factories.make_modification(
        ws,
        status="applied",
        source="agent:bot",
        diff=DIFF.replace(">= 0 and y >= 0", ">= 0 and y > 0"),
    )
    mod = factories.make_modification(
        ws,
        error_type="logic",
        source="agent:bot",
        diff=DIFF,
        envelope=envelope(
            [2.0, 0.5, 0.2],
            historical_success_rate=0.99,
            pattern_similarity=0.99,
            code_complexity_penalty=1.0,
            test_coverage=0.3,
        ),
    )
    sandbox = SandboxResult(
        ok=True,
        isolation_level="partial",
        coverage=0.8,
        tests=[Case("t::a", "passed"), Case("t::b", "passed")],
    )
    detail = score_modification(mod, sandbox)

    parts = detail["confidence_components"]
    # Beta prior of mean 0.9 weighing 10 outcomes: (6 + 9) / (8 + 10), relative to 0.9.
    history = (6 + 9) / (8 + 10) / 0.9
    assert parts["historical_success"]["measured"] == pytest.approx(history)
    assert parts["historical_success"]["detail"]["attempts"] == 8
    assert parts["historical_success"]["claimed"] == 0.99
    assert (
        parts["pattern_similarity"]["measured"] > 0.8
        and parts["pattern_similarity"]["detail"]["kept_patches"] == 1
    )
    assert parts["complexity_penalty"]["detail"]["where"] == "calc.py:classify"
    assert parts["complexity_penalty"]["detail"]["rank"] == "B"  # radon: complexity 8
    assert parts["complexity_penalty"]["used"] == 0.95
    assert parts["test_coverage"] == {
        "used": 0.8,
        "measured": 0.8,
        "claimed": 0.3,
        "source": "coverage.py in the sandbox run (touched lines)",
    }

    exps = [math.exp(x) for x in (2.0, 0.5, 0.2)]
    p = max(exps) / sum(exps)
    expected = p * history * parts["pattern_similarity"]["used"] * 0.95 * (0.5 + 0.5 * 0.8)
    assert detail["overall_confidence"] == pytest.approx(expected, abs=1e-6)
    assert detail["calibration_method"] == "uncalibrated" and detail["calibrated"] is False
    assert detail["logic_confidence"] == 1.0

    mod.refresh_from_db()
    assert mod.confidence == pytest.approx(expected)
    score = ConfidenceScore.objects.get(modification=mod)
    assert score.logits == [2.0, 0.5, 0.2] and score.calibration_method == "uncalibrated"


def test_it_divides_the_logits_by_the_temperature(workspace: Any) -> None:
    do_change_setting(None, "scoring.temperature", 2.0)
    mod = factories.make_modification(workspace, envelope=envelope([2.0, 0.0], test_coverage=1.0))
    detail = score_modification(mod)
    assert detail["model_probability"]["calibrated"] == pytest.approx(
        1 / (1 + math.exp(-1.0)), abs=1e-6
    )


def test_it_never_rejects_on_a_missing_history_alone(workspace: Any) -> None:
    mod = factories.make_modification(
        workspace, error_type="logic", envelope=envelope([0.3, 0.2, 0.1])
    )
    detail = score_modification(mod)
    assert detail["confidence_components"]["historical_success"]["source"].startswith("default 1.0")
    assert detail["overall_confidence"] < 0.2  # unmeasured coverage counts as untested
    gate = confidence_gate(mod)
    assert not gate.reject and not gate.auto_apply_ok
    assert "waits for a person" in gate.reason and "(uncalibrated)" in gate.reason


def _failing_history(workspace: Any, n: int = 30) -> None:
    do_change_setting(None, "engine_breaker.failure_threshold", 1000)
    for _ in range(n):
        record_outcome(
            factories.make_modification(workspace, error_type="runtime"),
            success=False,
            stage="sandbox",
        )


def test_it_rejects_below_the_floor_only_without_test_evidence(workspace: Any) -> None:
    _failing_history(workspace)
    mod = factories.make_modification(
        workspace, error_type="runtime", envelope=envelope([1.0, 0.0])
    )
    score_modification(mod, SandboxResult(ok=True, isolation_level="partial", coverage=1.0))
    gate = confidence_gate(mod)
    assert gate.reject and "no test evidence is below the floor 0.20" in gate.reason
    assert gate.detail["floor_score"] == pytest.approx(mod.confidence)


def test_it_never_rejects_a_tested_patch_on_its_score(workspace: Any) -> None:
    _failing_history(workspace)
    mod = factories.make_modification(
        workspace, error_type="runtime", envelope=envelope([1.0, 0.0])
    )
    sandbox = SandboxResult(
        ok=True,
        isolation_level="partial",
        coverage=1.0,
        tests=[Case("t::a", "passed"), Case("t::b", "passed")],
        fixed=["t::b"],
    )
    score_modification(mod, sandbox)
    gate = confidence_gate(mod)
    assert mod.confidence < 0.2
    assert not gate.reject and not gate.auto_apply_ok
    assert "waits for a person" in gate.reason and "repairs 1 failing test" in gate.reason
    assert "0 kept of 30 outcome(s)" in gate.reason


def test_it_counts_only_the_outcomes_of_the_same_source(calc_workspace: Any) -> None:
    do_change_setting(None, "engine_breaker.failure_threshold", 1000)
    for _ in range(20):
        mod = factories.make_modification(calc_workspace, error_type="logic", source="engine-a")
        record_outcome(mod, success=False, stage="sandbox")
    factories.make_modification(calc_workspace, status="applied", source="engine-a", diff=DIFF)
    b = factories.make_modification(
        calc_workspace,
        error_type="logic",
        source="engine-b",
        diff=DIFF,
        envelope=envelope([3.0, 0.0]),
    )
    a = factories.make_modification(
        calc_workspace,
        error_type="logic",
        source="engine-a",
        diff=DIFF,
        envelope=envelope([3.0, 0.0]),
    )
    mine, theirs = score_modification(b), score_modification(a)

    history = mine["confidence_components"]["historical_success"]
    assert "measured" not in history and history["detail"]["attempts"] == 0
    assert mine["evidence"]["history"] == {"source": "engine-b", "outcomes": 0, "kept": 0}
    assert mine["evidence"]["pattern"]["outcomes"] == 0
    a_history = theirs["confidence_components"]["historical_success"]
    assert a_history["detail"]["attempts"] == 20
    assert a_history["measured"] == pytest.approx(9 / 30 / 0.9)
    assert theirs["evidence"]["pattern"] == {"similarity": 1.0, "outcomes": 1}
    assert mine["overall_confidence"] > theirs["overall_confidence"]


@pytest.mark.parametrize(
    ("error_type", "threshold"),
    [
        ("syntax", 0.95),
        ("logic", 0.80),
        ("runtime", 0.80),
        ("performance", 0.85),
        ("security", 0.90),
    ],
)
def test_it_uses_the_threshold_of_the_error_type(
    workspace: Any, error_type: str, threshold: float
) -> None:
    mod = factories.make_modification(workspace, error_type=error_type)
    Modification.objects.filter(pk=mod.pk).update(confidence=threshold - 0.001)
    mod.refresh_from_db()
    assert not confidence_gate(mod).auto_apply_ok
    mod.confidence = threshold
    gate = confidence_gate(mod)
    assert gate.auto_apply_ok and gate.detail["threshold"] == threshold


def test_it_follows_an_admins_threshold(workspace: Any, admin_user: Any) -> None:
    do_change_setting(admin_user, "scoring.threshold.logic", 0.6)
    mod = factories.make_modification(workspace, error_type="logic")
    mod.confidence = 0.65
    assert confidence_gate(mod).auto_apply_ok


def test_it_falls_back_to_the_workspace_coverage_of_the_last_diagnostic_run(workspace: Any) -> None:
    from django.utils import timezone

    from selfdebug.models import DiagnosticRun, RunStatus

    DiagnosticRun.objects.create(
        workspace=workspace,
        status=RunStatus.DONE,
        finished_at=timezone.now(),
        coverage_percent=80.0,
    )
    mod = factories.make_modification(workspace, envelope=envelope([2.0, 0.0], test_coverage=0.1))
    detail = score_modification(mod)  # no sandbox result: coverage from the diagnostic run
    component = detail["confidence_components"]["test_coverage"]
    assert component["measured"] == pytest.approx(0.8)
    assert component["used"] == pytest.approx(0.8)
    assert "diagnostic run" in component["source"]
