"""The safety rule table and the decision after the sandbox — in one place.

`assess_safety(mod)` walks RULES from the most severe level down; the first rule that matches
sets the level, and its name is stored beside it (`Modification.safety_rule`). Because the table
is ordered by level, the first match is also the highest level any rule asks for: a later, milder
rule can never lower what an earlier one said. docs/safety-levels.md explains every row.

`decide_after_sandbox(mod, sandbox, gate)` is pure: it reads settings and the engine state but
writes nothing; the caller (the sandbox task) performs the transition it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import tunables
from .models.modification import ModificationStatus, SafetyLevel
from .validation.changed_tests import WEAKENING_RULES

if TYPE_CHECKING:
    from .models import Modification
    from .sandbox import SandboxResult
    from .scoring import ConfidenceGate

L = SafetyLevel
SAFE_MAX_LINES = 20  # a SAFE patch is a small one: at most this many changed lines, one file


def _findings(mod: Modification) -> list[dict[str, Any]]:
    return [
        f
        for stage in (mod.validation or {}).values()
        if isinstance(stage, dict)
        for f in stage.get("findings", [])
    ]


def _has(
    mod: Modification,
    *,
    rules: frozenset[str] | set[str] = frozenset(),
    prefix: tuple[str, ...] = (),
    severity: set[str] | None = None,
) -> bool:
    for f in _findings(mod):
        rule = f.get("rule", "")
        if (rule in rules or (prefix and rule.startswith(prefix))) and (
            severity is None or f.get("severity") in severity
        ):
            return True
    return False


def _stats(mod: Modification) -> dict[str, Any]:
    return ((mod.validation or {}).get("anomaly") or {}).get("data") or {}


@dataclass(frozen=True)
class Rule:
    name: str
    level: str
    when: Callable[[Modification], bool]
    why: str


RULES: list[Rule] = [
    Rule(
        "validation.blocking",
        L.CRITICAL,
        lambda m: any(f.get("blocking") for f in _findings(m)),
        "a validation stage found a blocking problem (the patch is rejected)",
    ),
    Rule(
        "risk.critical",
        L.CRITICAL,
        lambda m: m.risk_level == "critical",
        "anomaly risk is critical: a critical dangerous pattern",
    ),
    Rule(
        "secret.added",
        L.CRITICAL,
        lambda m: _has(m, prefix=("secret.",)),
        "adds a private key, token or credential",
    ),
    Rule(
        "severity.critical",
        L.CRITICAL,
        lambda m: m.severity == "critical",
        "the error is classified critical",
    ),
    Rule(
        "workspace.self",
        L.HIGH_RISK,
        lambda m: m.workspace.is_self,
        "touches the engine's own code (self-modification): never below HIGH_RISK",
    ),
    Rule(
        "risk.high",
        L.HIGH_RISK,
        lambda m: m.risk_level == "high",
        "anomaly risk is high: a high-severity dangerous pattern or several anomalies",
    ),
    Rule(
        "danger.high",
        L.HIGH_RISK,
        lambda m: _has(m, prefix=("danger.",), severity={"high", "critical"}),
        "adds eval/exec, a shell command, unpickling, destructive SQL or the like",
    ),
    Rule(
        "error_type.security",
        L.HIGH_RISK,
        lambda m: m.error_type == "security",
        "a security fix always gets a human review",
    ),
    Rule(
        "tests.weakened",
        L.MEDIUM_RISK,
        lambda m: _has(m, rules=WEAKENING_RULES),
        "changes the tests themselves (deletes, skips, loosens or reconfigures them): never SAFE or LOW_RISK",
    ),
    Rule(
        "risk.medium",
        L.MEDIUM_RISK,
        lambda m: m.risk_level == "medium",
        "anomaly risk is medium: a large or frequent change, or a new network call",
    ),
    Rule(
        "dependency.change",
        L.MEDIUM_RISK,
        lambda m: _has(m, rules={"dependency.change"}),
        "changes a setup input (requirements, lock file): the project's dependencies change",
    ),
    Rule(
        "import.not_allowed",
        L.MEDIUM_RISK,
        lambda m: _has(m, rules={"import.not_allowed"}),
        "imports a module that is not on the workspace's allow list",
    ),
    Rule(
        "severity.high",
        L.MEDIUM_RISK,
        lambda m: m.severity == "high",
        "the error is classified high severity",
    ),
    Rule(
        "findings.low",
        L.LOW_RISK,
        lambda m: any(f.get("severity") not in {"info"} for f in _findings(m)),
        "some minor findings",
    ),
    Rule(
        "change.not_small",
        L.LOW_RISK,
        lambda m: (
            len(m.files or []) > 1
            or (_stats(m).get("lines_added", 0) + _stats(m).get("lines_removed", 0))
            > SAFE_MAX_LINES
        ),
        f"more than one file or more than {SAFE_MAX_LINES} changed lines",
    ),
    Rule(
        "change.small_clean",
        L.SAFE,
        lambda m: True,
        f"one file, at most {SAFE_MAX_LINES} changed lines, no findings",
    ),
]


def assess_safety(mod: Modification) -> tuple[str, str]:
    """(level, rule name): the first matching rule of the table."""
    for rule in RULES:
        if rule.when(mod):
            return str(rule.level), rule.name
    return str(L.CRITICAL), "no rule matched"  # unreachable: the last rule always matches


def rule_table() -> list[dict[str, str]]:
    return [{"name": r.name, "level": str(r.level), "why": r.why} for r in RULES]


def decide_after_sandbox(
    mod: Modification, sandbox: SandboxResult, gate: ConfidenceGate
) -> tuple[str, str]:
    """(status, reason): rejected | awaiting_approval | approved, once the sandbox has run."""
    from .models import EngineState

    S = ModificationStatus
    if sandbox.cut_short:
        return S.REJECTED, f"the sandbox stopped the tests: {sandbox.limit_hit} limit"
    if sandbox.limit_hit:
        return S.REJECTED, f"the tests ran into the sandbox's {sandbox.limit_hit} limit"
    if sandbox.new_failures:
        shown = ", ".join(sandbox.new_failures[:5]) + (
            " …" if len(sandbox.new_failures) > 5 else ""
        )
        return S.REJECTED, f"{len(sandbox.new_failures)} new test failure(s): {shown}"
    if not sandbox.ok:
        # Say what a person would look at first: the exit code, and whether any test ran.
        code = sandbox.detail.get("exit_code")
        what = "reported no test" if not sandbox.tests else "failed"
        return S.REJECTED, f"the sandbox run failed: the test command exited {code} and {what}"
    verdict = _judge_repairs(mod, sandbox)
    if verdict is not None and verdict[0] == S.REJECTED:
        return verdict
    tested = any(t.outcome != "skipped" for t in sandbox.tests)
    if gate.reject and not tested:
        # The floor is for patches with no test evidence: a tested patch is judged by its tests.
        return S.REJECTED, f"confidence below the floor: {gate.reason}"
    level = mod.safety_level or L.CRITICAL
    if SafetyLevel.needs_human(level):
        return (
            S.AWAITING_APPROVAL,
            f"{level} always waits for a human ({mod.safety_rule or 'safety rule'})",
        )
    settings = tunables.get_many(
        ["safety.require_approval", "safety.auto_apply_threshold"], mod.workspace
    )
    if EngineState.objects.current().is_emergency_stopped:
        return (
            S.AWAITING_APPROVAL,
            "the engine is emergency-stopped: nothing is applied automatically",
        )
    if verdict is not None:
        return verdict
    if settings["safety.require_approval"]:
        return S.AWAITING_APPROVAL, "every patch waits for a human (safety.require_approval is on)"
    threshold = settings["safety.auto_apply_threshold"]
    if SafetyLevel.rank(level) > SafetyLevel.rank(threshold):
        return S.AWAITING_APPROVAL, f"{level} is above the auto-apply threshold {threshold}"
    if not gate.auto_apply_ok:
        return S.AWAITING_APPROVAL, f"sandbox passed, but {gate.reason}"
    return (
        S.APPROVED,
        f"sandbox passed, {level} ≤ {threshold}, {gate.reason}: applied automatically",
    )


def sandbox_success(mod: Modification, sandbox: SandboxResult) -> bool:
    """The sandbox's verdict on the patch, as its outcome: a clean run that misses its targets
    or fixes nothing of a red baseline failed on evidence (a rejection on the score alone does
    not fail the patch, and is not decided here)."""
    verdict = _judge_repairs(mod, sandbox) if sandbox.ok else None
    return sandbox.ok and (verdict is None or verdict[0] != ModificationStatus.REJECTED)


def _named(ids: list[str], limit: int = 5) -> str:
    return ", ".join(ids[:limit]) + (" …" if len(ids) > limit else "")


def _judge_repairs(mod: Modification, sandbox: SandboxResult) -> tuple[str, str] | None:
    """What the patch repaired, judged against what the engine said it would and against a red
    baseline: rejected when it does not fix what it names, or fixes nothing that can be seen;
    a person when it repairs only part of what failed; None when nothing here objects."""
    from .scoring.evidence import red_baseline, targets_of, targets_still_failing

    S = ModificationStatus
    targets = targets_of(mod)
    if targets:
        missed = targets_still_failing(targets, sandbox)
        if missed:
            return (
                S.REJECTED,
                f"{len(missed)} of the {len(targets)} test target(s) it names still fail "
                f"(or did not run): {_named(missed)}",
            )
    before, still = red_baseline(sandbox)
    if not still:
        return None
    if not sandbox.fixed:
        return (
            S.REJECTED,
            f"fixes nothing that can be seen: {len(still)} test(s) failed before and still fail: "
            f"{_named(still)}",
        )
    return (
        S.AWAITING_APPROVAL,
        f"repairs {len(sandbox.fixed)} failing test(s) ({_named(sandbox.fixed, 3)}) but "
        f"{len(still)} still fail: {_named(still)}: waits for a person",
    )
