"""The safety rule table (assess_safety) and the decision after the sandbox (decide_after_sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

from healing.actions import do_change_setting, do_emergency_stop
from healing.models import Modification
from healing.policy import RULES, assess_safety, decide_after_sandbox, rule_table
from healing.sandbox import SandboxResult
from healing.sandbox import TestOutcome as Case
from healing.scoring import ConfidenceGate

pytestmark = pytest.mark.django_db

PASSED = SandboxResult(ok=True, isolation_level="partial")
GATE_OK = ConfidenceGate(auto_apply_ok=True, reject=False, reason="confidence 0.91 ≥ threshold 0.8")
GATE_LOW = ConfidenceGate(
    auto_apply_ok=False, reject=False, reason="confidence 0.62 below the logic threshold 0.8"
)
GATE_FLOOR = ConfidenceGate(
    auto_apply_ok=False, reject=True, reason="confidence 0.10 below the floor 0.2"
)


def finding(rule: str, severity: str = "high", blocking: bool = False) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": severity,
        "blocking": blocking,
        "message": rule,
        "file": "a.py",
        "line": 1,
        "column": 1,
    }


def mod_with(
    workspace: Any, *findings: dict[str, Any], level: str = "", **fields: Any
) -> Modification:
    validation = {
        "danger": {"ok": True, "findings": list(findings), "duration_ms": 0, "data": {}},
        "anomaly": {
            "ok": True,
            "findings": [],
            "duration_ms": 0,
            "data": {"lines_added": 1, "lines_removed": 1},
        },
    }
    fields.setdefault("files", ["a.py"])
    fields.setdefault("risk_level", "none")
    fields.setdefault("error_type", "logic")
    fields.setdefault("severity", "medium")
    return Modification(workspace=workspace, validation=validation, safety_level=level, **fields)


@pytest.mark.parametrize(
    ("findings", "fields", "expected"),
    [
        ([], {}, ("SAFE", "change.small_clean")),
        ([], {"files": ["a.py", "b.py"]}, ("LOW_RISK", "change.not_small")),
        (
            [finding("danger.network", "medium")],
            {"risk_level": "medium"},
            ("MEDIUM_RISK", "risk.medium"),
        ),
        ([finding("tests.assertions_removed")], {}, ("MEDIUM_RISK", "tests.weakened")),
        ([finding("tests.config", "medium")], {}, ("MEDIUM_RISK", "tests.weakened")),
        ([finding("danger.eval")], {"risk_level": "high"}, ("HIGH_RISK", "risk.high")),
        ([], {"error_type": "security", "severity": "high"}, ("HIGH_RISK", "error_type.security")),
        ([finding("secret.added", "high")], {"risk_level": "high"}, ("CRITICAL", "secret.added")),
        (
            [finding("danger.rm_rf", "critical", True)],
            {"risk_level": "critical"},
            ("CRITICAL", "validation.blocking"),
        ),
        ([], {"severity": "critical"}, ("CRITICAL", "severity.critical")),
    ],
)
def test_it_assesses_safety_by_the_first_matching_rule(
    workspace: Any,
    findings: list[dict[str, Any]],
    fields: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    assert assess_safety(mod_with(workspace, *findings, **fields)) == expected


def test_it_never_rates_a_test_weakening_patch_safe_or_low_risk(workspace: Any) -> None:
    for rule in (
        "tests.deleted",
        "tests.skipped",
        "tests.removed",
        "tests.assertions_removed",
        "tests.config",
    ):
        level, _ = assess_safety(mod_with(workspace, finding(rule, "low")))
        assert level not in {"SAFE", "LOW_RISK"}, rule


def test_it_never_rates_the_engines_own_code_below_high_risk(workspace: Any) -> None:
    workspace.is_self = True
    assert assess_safety(mod_with(workspace)) == ("HIGH_RISK", "workspace.self")
    assert (
        assess_safety(mod_with(workspace, finding("danger.rm_rf", "critical", True)))[0]
        == "CRITICAL"
    )


def test_it_orders_the_rule_table_from_the_most_severe_level_down() -> None:
    ranks = ["SAFE", "LOW_RISK", "MEDIUM_RISK", "HIGH_RISK", "CRITICAL"]
    levels = [ranks.index(r.level) for r in RULES]
    assert levels == sorted(levels, reverse=True)
    assert rule_table()[-1] == {"name": "change.small_clean", "level": "SAFE", "why": RULES[-1].why}


@pytest.mark.parametrize(
    ("sandbox", "gate", "status", "needle"),
    [
        (
            SandboxResult(
                ok=False, isolation_level="full", new_failures=["tests/test_a.py::test_x"]
            ),
            GATE_OK,
            "rejected",
            "1 new test failure(s): tests/test_a.py::test_x",
        ),
        (
            SandboxResult(ok=False, isolation_level="full", limit_hit="wall_time"),
            GATE_OK,
            "rejected",
            "wall_time limit",
        ),
        (
            SandboxResult(ok=False, isolation_level="full", detail={"exit_code": 5}),
            GATE_OK,
            "rejected",
            "sandbox run failed: the test command exited 5 and reported no test",
        ),
        (
            SandboxResult(
                ok=False,
                isolation_level="full",
                limit_hit="network",
                detail={"limit_inferred": True},
            ),
            GATE_OK,
            "rejected",
            "the tests ran into the sandbox's network limit",
        ),
        (PASSED, GATE_FLOOR, "rejected", "below the floor"),
        (PASSED, GATE_LOW, "awaiting_approval", "confidence 0.62"),
        (PASSED, GATE_OK, "approved", "applied automatically"),
    ],
)
def test_it_decides_after_the_sandbox(
    workspace: Any, sandbox: SandboxResult, gate: ConfidenceGate, status: str, needle: str
) -> None:
    decided, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), sandbox, gate)
    assert decided == status and needle in reason


@pytest.mark.parametrize("level", ["HIGH_RISK", "CRITICAL"])
def test_it_always_holds_high_risk_and_critical_for_a_human(
    workspace: Any, admin_user: Any, level: str
) -> None:
    do_change_setting(admin_user, "safety.auto_apply_threshold", "MEDIUM_RISK")
    workspace.policy_overrides = {"safety.auto_apply_threshold": "MEDIUM_RISK"}
    status, reason = decide_after_sandbox(mod_with(workspace, level=level), PASSED, GATE_OK)
    assert status == "awaiting_approval" and "always waits for a human" in reason


def test_it_holds_medium_risk_by_default_and_applies_it_when_the_threshold_allows(
    workspace: Any, admin_user: Any
) -> None:
    mod = mod_with(workspace, level="MEDIUM_RISK")
    assert decide_after_sandbox(mod, PASSED, GATE_OK) == (
        "awaiting_approval",
        "MEDIUM_RISK is above the auto-apply threshold LOW_RISK",
    )
    do_change_setting(admin_user, "safety.auto_apply_threshold", "MEDIUM_RISK")
    assert decide_after_sandbox(mod, PASSED, GATE_OK)[0] == "approved"


def test_it_follows_a_workspace_override_of_the_threshold(workspace: Any) -> None:
    workspace.policy_overrides = {"safety.auto_apply_threshold": "SAFE"}
    assert (
        decide_after_sandbox(mod_with(workspace, level="LOW_RISK"), PASSED, GATE_OK)[0]
        == "awaiting_approval"
    )
    assert decide_after_sandbox(mod_with(workspace, level="SAFE"), PASSED, GATE_OK)[0] == "approved"


def test_it_holds_everything_when_approval_is_required(workspace: Any, admin_user: Any) -> None:
    do_change_setting(admin_user, "safety.require_approval", True)
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), PASSED, GATE_OK)
    assert status == "awaiting_approval" and "require_approval" in reason


def test_it_applies_nothing_automatically_during_an_emergency_stop(
    workspace: Any, operator: Any
) -> None:
    do_emergency_stop(operator, "incident")
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), PASSED, GATE_OK)
    assert status == "awaiting_approval" and "emergency" in reason


def test_it_documents_every_rule_of_the_table() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "safety-levels.md").read_text()
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.level} |" in doc, rule.name


def _run(*cases: tuple[str, str], fixed: list[str], baseline_failing: list[str]) -> SandboxResult:
    return SandboxResult(
        ok=True,
        isolation_level="full",
        tests=[Case(nodeid=n, outcome=o) for n, o in cases],
        fixed=fixed,
        detail={"baseline_failing": baseline_failing},
    )


def test_it_rejects_a_patch_that_fixes_nothing_on_a_red_baseline(workspace: Any) -> None:
    run = _run(
        ("tests.test_a::test_x", "failed"),
        ("tests.test_a::test_y", "failed"),
        ("tests.test_a::test_z", "passed"),
        fixed=[],
        baseline_failing=["tests.test_a::test_x", "tests.test_a::test_y"],
    )
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), run, GATE_OK)
    assert status == "rejected"
    assert reason == (
        "fixes nothing that can be seen: 2 test(s) failed before and still fail: "
        "tests.test_a::test_x, tests.test_a::test_y"
    )


def test_it_sends_a_partial_repair_to_a_person_naming_what_still_fails(workspace: Any) -> None:
    run = _run(
        ("tests.test_a::test_x", "passed"),
        ("tests.test_a::test_y", "failed"),
        fixed=["tests.test_a::test_x"],
        baseline_failing=["tests.test_a::test_x", "tests.test_a::test_y"],
    )
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), run, GATE_OK)
    assert status == "awaiting_approval"
    assert "repairs 1 failing test(s) (tests.test_a::test_x)" in reason
    assert "1 still fail: tests.test_a::test_y" in reason


def test_it_never_rejects_a_repair_on_its_score(workspace: Any) -> None:
    run = _run(
        ("tests.test_a::test_x", "passed"),
        fixed=["tests.test_a::test_x"],
        baseline_failing=["tests.test_a::test_x"],
    )
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), run, GATE_LOW)
    assert status == "awaiting_approval" and "confidence 0.62" in reason
    # Even a gate that would reject on the floor: the floor is for untested patches only.
    status, reason = decide_after_sandbox(mod_with(workspace, level="SAFE"), run, GATE_FLOOR)
    assert status == "awaiting_approval" and reason.startswith("sandbox passed, but")


@pytest.mark.parametrize(
    ("targets", "status", "needle"),
    [
        (["tests/test_a.py::test_x"], "approved", "applied automatically"),
        (["tests/test_a.py::TestK"], "approved", "applied automatically"),
        (
            ["tests/test_a.py"],
            "rejected",
            "1 of the 1 test target(s) it names still fail (or did not run): tests/test_a.py",
        ),
        (
            ["tests/test_a.py::test_x", "tests/test_b.py::test_q"],
            "rejected",
            "1 of the 2 test target(s) it names still fail (or did not run): tests/test_b.py::test_q",
        ),
    ],
)
def test_it_rejects_a_patch_whose_targets_do_not_all_pass(
    workspace: Any, targets: list[str], status: str, needle: str
) -> None:
    run = _run(
        ("tests.test_a::test_x", "passed"),
        ("tests.test_a.TestK::test_k[1]", "passed"),
        ("tests.test_a::test_w", "failed"),
        fixed=["tests.test_a::test_x"],
        baseline_failing=["tests.test_a::test_x"],
    )
    # test_w failed before too (not a new failure) but is not in the baseline list given here,
    # so only the targets decide.
    mod = mod_with(
        workspace,
        level="SAFE",
        envelope={"error_classification": {"error_type": "logic", "targets": targets}},
    )
    decided, reason = decide_after_sandbox(mod, run, GATE_OK)
    assert decided == status and needle in reason
