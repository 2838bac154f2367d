"""healing.sandbox_modification: run, store, score, decide and transition, on real repos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.models import Outcome, SandboxRun
from healing.sandbox.tasks import sandbox_modification
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.apply_helpers import FIX, make_repo

BREAK_ADD = """--- a/app.py
+++ b/app.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a + b
+    return a + b + 1
\x20
"""
SURE = {"confidence_scoring": {"overall_confidence": 0.99}}


def _mod(tmp_path: Path, diff: str, level: str = "partial", **fields: Any) -> Any:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc", isolation_level=level)
    fields.setdefault("safety_level", "SAFE")
    fields.setdefault("error_type", "logic")
    fields.setdefault("envelope", SURE)
    return factories.make_modification(
        ws, diff=diff, status="sandboxing", base_commit=ws.head_commit(), **fields
    )


def test_it_approves_a_correct_safe_fix_and_queues_the_apply(
    db: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _mod(tmp_path, FIX)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sandbox_modification(mod.pk) == "approved"
    mod.refresh_from_db()
    assert mod.status == "approved"
    assert mod.confidence == pytest.approx(0.99)
    run = SandboxRun.objects.get(modification=mod)
    assert run.ok and run.fixed == ["test_app::test_sub"] and run.kind == "patched"
    assert any("run_sandbox_stage" in c.__qualname__ for c in callbacks)


def test_it_rejects_a_wrong_fix_on_new_failures(db: Any, tmp_path: Path) -> None:
    mod = _mod(tmp_path, BREAK_ADD)
    assert sandbox_modification(mod.pk) == "rejected"
    mod.refresh_from_db()
    reason = mod.events.order_by("-id").first().reason
    assert "new test failure" in reason and "test_app::test_add" in reason
    assert SandboxRun.objects.get(modification=mod).new_failures == ["test_app::test_add"]


def test_it_holds_a_high_risk_fix_for_a_human(db: Any, tmp_path: Path) -> None:
    mod = _mod(tmp_path, FIX, safety_level="HIGH_RISK")
    assert sandbox_modification(mod.pk) == "awaiting_approval"


def test_it_blocks_when_the_required_isolation_is_missing(
    db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    mod = _mod(tmp_path, FIX, level="full")
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        assert sandbox_modification(mod.pk) == "blocked"
    finally:
        bubblewrap_works.cache_clear()
    mod.refresh_from_db()
    assert "bubblewrap is not installed" in mod.block_reason
    assert not SandboxRun.objects.exists()


def test_it_ignores_a_modification_in_another_state(db: Any, tmp_path: Path) -> None:
    mod = _mod(tmp_path, FIX)
    mod.status = "rejected"
    mod.save(update_fields=["status"])
    assert sandbox_modification(mod.pk) is None
    assert not SandboxRun.objects.exists()


RENAME_ARGS = """--- a/app.py
+++ b/app.py
@@ -1,4 +1,4 @@
-def add(a, b):
-    return a + b
+def add(x, y):
+    return x + y
\x20
\x20
"""


def test_it_rejects_a_patch_that_fixes_nothing_on_a_red_baseline(db: Any, tmp_path: Path) -> None:
    # test_sub fails at the base; this patch passes what passed and leaves test_sub failing.
    mod = _mod(tmp_path, RENAME_ARGS)
    assert sandbox_modification(mod.pk) == "rejected"
    mod.refresh_from_db()
    reason = mod.events.order_by("-id").first().reason
    assert reason == (
        "fixes nothing that can be seen: 1 test(s) failed before and still fail: test_app::test_sub"
    )
    # Rejected on evidence: a failure of the patch, counted against its source.
    assert list(Outcome.objects.filter(modification=mod).values_list("stage", "success")) == [
        ("sandbox", False)
    ]


@pytest.mark.parametrize(
    ("targets", "status"),
    [(["test_app.py::test_sub"], "approved"), (["test_app.py"], "approved")],
)
def test_it_approves_a_fix_whose_targets_all_pass(
    db: Any, tmp_path: Path, targets: list[str], status: str
) -> None:
    envelope = {**SURE, "error_classification": {"error_type": "logic", "targets": targets}}
    mod = _mod(tmp_path, FIX, envelope=envelope)
    assert sandbox_modification(mod.pk) == status


def test_it_rejects_a_fix_whose_targets_still_fail(db: Any, tmp_path: Path) -> None:
    targets = ["test_app.py::test_sub", "test_app.py::test_mul"]
    envelope = {**SURE, "error_classification": {"error_type": "logic", "targets": targets}}
    mod = _mod(tmp_path, FIX, envelope=envelope)
    assert sandbox_modification(mod.pk) == "rejected"
    mod.refresh_from_db()
    reason = mod.events.order_by("-id").first().reason
    assert reason == (
        "1 of the 2 test target(s) it names still fail (or did not run): test_app.py::test_mul"
    )
