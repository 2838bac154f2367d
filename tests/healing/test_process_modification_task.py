from __future__ import annotations

from typing import Any

import pytest

from healing.actions import do_emergency_stop
from healing.intake.actions import do_submit_patch
from healing.intake.tasks import process_modification
from healing.models import AuditEvent, Modification
from healing.validation import base as validation_base
from tests import factories
from tests.intake_helpers import FIX_DIFF, envelope

pytestmark = pytest.mark.django_db


def submit(agent: Any, diff: str = FIX_DIFF, **overrides: Any) -> Modification:
    return do_submit_patch(
        envelope(diff, **overrides), submitted_by=agent, source=f"agent:{agent.username}"
    )


def test_it_validates_and_hands_a_clean_fix_to_the_sandbox(
    agent: Any, workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = submit(agent)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert process_modification.run(mod.pk) == "sandboxing"
    # Two broadcasts and sandbox_modification.delay(id), all sent after commit.
    assert [c.__qualname__.split(".")[0] for c in callbacks].count("_conclude") == 1
    mod.refresh_from_db()
    assert mod.base_commit == factories.git(workspace.repo_path, "rev-parse", "HEAD").strip()
    # jsonb keeps no key order: each stage carries its position.
    assert sorted(mod.validation, key=lambda name: mod.validation[name]["position"]) == [
        "paths",
        "diff",
        "unicode",
        "syntax",
        "danger",
        "imports",
        "dependencies",
        "tests",
        "anomaly",
        "classification",
    ]
    assert all(stage["ok"] and stage["duration_ms"] >= 0 for stage in mod.validation.values())
    assert (mod.safety_level, mod.risk_level, mod.error_type, mod.severity) == (
        "SAFE",
        "none",
        "logic",
        "medium",
    )
    assert mod.preflight["intake"]["ok"] is True
    assert {"emergency_stop", "breaker", "anomaly"} <= {
        c["name"] for c in mod.preflight["intake"]["checks"]
    }
    transitions = AuditEvent.objects.for_modification(mod.pk).filter(kind="modification.transition")
    assert [(e.from_state, e.to_state) for e in transitions] == [
        ("received", "validating"),
        ("validating", "sandboxing"),
    ]


def test_it_blocks_with_the_reason_during_an_emergency_stop(
    agent: Any, operator: Any, workspace: Any
) -> None:
    mod = submit(agent)
    do_emergency_stop(operator, "runaway agent")
    assert process_modification.run(mod.pk) == "blocked"
    mod.refresh_from_db()
    assert "runaway agent" in mod.block_reason
    assert mod.blocked_from == "received"  # a lifted block starts intake again
    assert mod.preflight["intake"]["ok"] is False


def test_it_rejects_before_blocking_when_the_patch_itself_is_bad(
    agent: Any, operator: Any, workspace: Any
) -> None:
    mod = submit(agent, FIX_DIFF.replace("return b + a", "return (b + a"))
    do_emergency_stop(operator, "stop")
    assert process_modification.run(mod.pk) == "rejected"
    mod.refresh_from_db()
    assert mod.validation["syntax"]["findings"][0]["line"] == 2


def test_it_does_nothing_when_another_worker_has_claimed_it(agent: Any, workspace: Any) -> None:
    mod = submit(agent)
    assert process_modification.run(mod.pk) == "sandboxing"
    assert process_modification.run(mod.pk) is None
    assert AuditEvent.objects.filter(modification=mod, kind="modification.transition").count() == 2


def test_it_leaves_a_cancelled_or_missing_modification_alone(agent: Any, workspace: Any) -> None:
    mod = submit(agent)
    Modification.objects.filter(pk=mod.pk).update(status="cancelled")
    assert process_modification.run(mod.pk) is None
    assert process_modification.run(999_999) is None


def test_it_rejects_to_be_safe_when_a_stage_crashes(agent: Any, workspace: Any) -> None:
    @validation_base.register
    class Exploding(validation_base.Stage):
        name = "exploding"
        order = 15

        def run(self, ctx: Any) -> list[Any]:
            raise RuntimeError("boom")

    try:
        mod = submit(agent)
        assert process_modification.run(mod.pk) == "rejected"
        mod.refresh_from_db()
        assert mod.validation["validation"]["findings"][0]["rule"] == "validation.crashed"
    finally:
        validation_base.REGISTRY.remove(Exploding)


def test_it_never_rates_the_engines_own_code_below_high_risk(agent: Any, tmp_path: Any) -> None:
    factories.make_workspace(factories.make_git_repo(tmp_path / "self"), name="demo", is_self=True)
    mod = submit(agent)
    assert process_modification.run(mod.pk) == "sandboxing"
    mod.refresh_from_db()
    assert (mod.safety_level, mod.safety_rule) == ("HIGH_RISK", "workspace.self")


def test_it_flags_a_burst_of_submissions_from_one_source(agent: Any, workspace: Any) -> None:
    mods = [submit(agent) for _ in range(6)]
    process_modification.run(mods[4].pk)
    process_modification.run(mods[5].pk)
    fifth, sixth = (Modification.objects.get(pk=m.pk) for m in mods[4:])
    assert not fifth.validation["anomaly"]["findings"]
    assert sixth.validation["anomaly"]["findings"][0]["rule"] == "anomaly.frequency"
    assert (sixth.risk_level, sixth.safety_level) == ("medium", "MEDIUM_RISK")


def test_it_counts_a_flood_from_one_source_no_further_than_past_the_limit(
    agent: Any, workspace: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.bulk_modifications(workspace, 300, source=f"agent:{agent.username}")
    mod = submit(agent)
    with CaptureQueriesContext(connection) as queries:
        process_modification.run(mod.pk)
    mod.refresh_from_db()
    finding = mod.validation["anomaly"]["findings"][0]
    assert finding["rule"] == "anomaly.frequency"
    assert finding["message"].startswith("at least 6 submissions from agent:")
    assert mod.validation["anomaly"]["data"]["recent_submissions"] == 6
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert any("LIMIT 6" in sql.upper() for sql in counts), counts


def test_it_records_a_disagreeing_claim_and_keeps_the_stricter_class(
    agent: Any, workspace: Any
) -> None:
    diff = FIX_DIFF.replace(
        "+    return b + a\n",
        "+    if a is None or b is None:\n+        return 0\n+    return b + a\n",
    ).replace("+1,2 @@", "+1,4 @@")
    mod = submit(agent, diff, error_classification={"error_type": "performance", "severity": "low"})
    process_modification.run(mod.pk)
    mod.refresh_from_db()
    assert (mod.claimed_error_type, mod.inferred_error_type, mod.error_type) == (
        "performance",
        "runtime",
        "performance",
    )
    assert "claimed performance, inferred runtime" in mod.classification_note
    assert (mod.claimed_severity, mod.severity) == ("low", "low")


def test_it_validates_again_once_a_block_lifts(
    agent: Any, operator: Any, workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from healing.actions import do_resume
    from healing.breakers.tasks import lift_holds

    mod = submit(agent)
    do_emergency_stop(operator, "incident")
    assert process_modification.run(mod.pk) == "blocked"
    assert list(mod.holds.values_list("kind", flat=True)) == ["emergency_stop"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        do_resume(operator, "over")
    assert callbacks, "the resume sends healing.lift_holds on commit"
    # What the worker runs for that message: the patch goes back to intake by itself.
    with django_capture_on_commit_callbacks(execute=False):
        assert lift_holds.run("emergency_stop") == [mod.pk]
    mod.refresh_from_db()
    assert (mod.status, mod.block_reason, mod.holds.count()) == ("received", "", 0)
    unblocked = AuditEvent.objects.get(modification=mod, kind="modification.unblocked")
    assert unblocked.data["blocked_by"] == "emergency_stop"
    assert process_modification.run(mod.pk) == "sandboxing"
