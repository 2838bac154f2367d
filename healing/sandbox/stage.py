"""The sandbox stage of a modification: run, store, score, decide, transition."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from .. import breakers, scoring, tunables
from ..actions import transition
from ..models import Modification, ModificationStatus, SandboxRunKind
from ..models.modification import SafetyLevel
from . import IsolationUnavailable, SandboxResult, run_tests, store_run

log = logging.getLogger(__name__)
S = ModificationStatus


def _fallback_decide(mod: Modification, sandbox: SandboxResult, gate: Any) -> tuple[str, str]:
    """Used only until healing.policy.decide_after_sandbox lands (issue #3); same contract."""
    if not sandbox.ok:
        if sandbox.limit_hit:
            return S.REJECTED, f"sandbox: the {sandbox.limit_hit} limit struck"
        if sandbox.new_failures:
            return S.REJECTED, f"sandbox: new test failures: {', '.join(sandbox.new_failures[:5])}"
        return (
            S.REJECTED,
            f"sandbox: {sandbox.detail.get('message') or sandbox.detail.get('error') or 'tests did not run cleanly'}",
        )
    if gate.reject:
        return S.REJECTED, gate.reason
    level = mod.safety_level or SafetyLevel.CRITICAL
    if SafetyLevel.needs_human(level) or tunables.get("safety.require_approval", mod.workspace):
        return S.AWAITING_APPROVAL, f"{level} waits for a human"
    if SafetyLevel.rank(level) > SafetyLevel.rank(
        tunables.get("safety.auto_apply_threshold", mod.workspace)
    ):
        return S.AWAITING_APPROVAL, f"{level} is above the auto-apply threshold"
    if not gate.auto_apply_ok:
        return S.AWAITING_APPROVAL, gate.reason
    return S.APPROVED, f"sandbox passed, {gate.reason}, {level} within auto-apply"


def decide(mod: Modification, sandbox: SandboxResult, gate: Any) -> tuple[str, str]:
    """The one call to the policy, kept small so it can be swapped at merge."""
    try:
        from ..policy import decide_after_sandbox  # type: ignore[attr-defined]
    except ImportError:
        return _fallback_decide(mod, sandbox, gate)
    return decide_after_sandbox(mod, sandbox, gate)


def run_sandbox_stage(mod: Modification) -> Modification:
    try:
        result = run_tests(mod.workspace, diff=mod.diff)
    except IsolationUnavailable as exc:
        return transition(
            mod, S.BLOCKED, None, str(exc), expected_from=S.SANDBOXING, block_reason=str(exc)
        )
    with transaction.atomic():
        run = store_run(mod.workspace, result, kind=SandboxRunKind.PATCHED, modification=mod)
        if result.limit_hit != "emergency_stop":
            breakers.record_outcome(mod, success=result.ok, stage="sandbox")
        scoring.score_modification(mod, result)
        gate = scoring.confidence_gate(mod)
        if result.limit_hit == "emergency_stop":
            # Interrupted, not judged: the patch waits in `blocked` until the engine resumes.
            status, reason = S.BLOCKED, "emergency stop during the sandbox run"
        else:
            status, reason = decide(mod, result, gate)
        data = {
            "sandbox_run": run.pk,
            "limit_hit": result.limit_hit,
            "new_failures": result.new_failures,
            "fixed": result.fixed,
        }
        extra = {"block_reason": reason} if status == S.BLOCKED else {}
        transition(mod, status, None, reason, expected_from=S.SANDBOXING, data=data, **extra)
        if status == S.APPROVED:
            from .tasks import apply_modification

            transaction.on_commit(lambda: apply_modification.delay(mod.pk))
    return mod
