"""healing.apply_modification: apply, verify with the tests again, one automatic rollback."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from healing.apply.tasks import apply_modification, watch_application
from healing.models import SandboxRun
from healing.sandbox.tasks import sandbox_modification
from tests import factories
from tests.apply_helpers import FIX, make_repo

SURE = {"confidence_scoring": {"overall_confidence": 0.99}}


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


def _sandboxed(tmp_path: Path, files: dict[str, str] | None = None, diff: str = FIX) -> Any:
    repo = factories.make_git_repo(tmp_path / "repo", files) if files else make_repo(tmp_path)
    ws = factories.make_workspace(repo, name="calc", isolation_level="partial")
    mod = factories.make_modification(
        ws,
        diff=diff,
        status="sandboxing",
        base_commit=ws.head_commit(),
        safety_level="SAFE",
        error_type="logic",
        envelope=SURE,
    )
    assert sandbox_modification(mod.pk) == "approved"
    return mod


def test_it_applies_a_correct_fix_and_its_tests_pass(db: Any, tmp_path: Path) -> None:
    mod = _sandboxed(tmp_path)
    assert apply_modification(mod.pk) == "applied"
    mod.refresh_from_db()
    assert mod.applied_commit == mod.workspace.head_commit()
    verify = SandboxRun.objects.get(modification=mod, kind="verify")
    assert verify.ok and verify.commit == mod.applied_commit
    assert {t["outcome"] for t in verify.tests} == {"passed"}


def test_it_rolls_back_automatically_when_the_tests_fail_after_apply(
    db: Any, tmp_path: Path
) -> None:
    # A test that starts failing once a sentinel appears: something changed between the sandbox
    # and the apply. PARTIAL hides the file system but the toolchain (bound read-only), so the
    # sentinel goes there, beside the interpreter, and is removed after.
    sentinel = Path(sys.prefix).resolve() / f"sentinel-{uuid.uuid4().hex}"
    files = {
        "app.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n",
        "test_app.py": (
            "import pathlib\nfrom app import add, sub\n\n\n"
            f"def test_env():\n    assert not pathlib.Path({str(sentinel)!r}).exists()\n\n\n"
            "def test_sub():\n    assert sub(5, 3) == 2\n"
        ),
    }
    mod = _sandboxed(tmp_path, files)
    base = mod.workspace.head_commit()
    sentinel.write_text("the world changed")
    try:
        assert apply_modification(mod.pk) == "rolled_back"
    finally:
        sentinel.unlink()

    mod.refresh_from_db()
    assert mod.rollback_count == 1
    event = mod.events.order_by("-id").first()
    assert "automatic rollback: post-apply tests fail: test_app::test_env" in event.reason
    ws = mod.workspace
    assert factories.git(ws.repo_path, "diff", base, "HEAD").strip() == ""


def test_it_finishes_the_watch_when_health_stays_good(db: Any, tmp_path: Path) -> None:
    mod = _sandboxed(tmp_path)
    apply_modification(mod.pk)
    assert watch_application(mod.pk, 0.0) == "healthy"


def test_it_does_nothing_for_a_patch_that_is_not_approved(db: Any, tmp_path: Path) -> None:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc")
    mod = factories.make_modification(
        ws, diff=FIX, status="awaiting_approval", base_commit=ws.head_commit()
    )
    assert apply_modification(mod.pk) is None


def test_it_applies_once_when_the_sweeper_sends_it_twice(db: Any, tmp_path: Path) -> None:
    from healing.models import AuditEvent

    mod = _sandboxed(tmp_path)
    commits_before = factories.git(mod.workspace.repo_path, "rev-list", "--count", "HEAD")
    assert apply_modification(mod.pk) == "applied"
    assert apply_modification(mod.pk) is None  # the requeued duplicate
    commits_after = factories.git(mod.workspace.repo_path, "rev-list", "--count", "HEAD")
    assert int(commits_after) == int(commits_before) + 1
    applying = AuditEvent.objects.for_modification(mod.pk).filter(to_state="applying")
    assert applying.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_leaves_the_patch_applied_when_an_emergency_stop_cuts_the_verification_off(
    celery_worker_process: Any, tmp_path: Path, operator: Any, request: Any
) -> None:
    """A verification killed by the stop is no verdict on the patch: no automatic rollback, no
    failed outcome, no health watch; the patch stays applied for a person to judge."""
    import time

    from healing.actions import do_emergency_stop
    from healing.models import AuditEvent, Modification

    # Fast in the sandbox; once the sentinel exists (beside the interpreter, the part of the
    # file system PARTIAL shows read-only), the post-apply run sleeps until something kills it.
    sentinel = Path(sys.prefix).resolve() / f"sentinel-{uuid.uuid4().hex}"
    files = {
        "app.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n",
        "test_app.py": (
            "import pathlib, time\nfrom app import add, sub\n\n\n"
            f"def test_slow_later():\n    if pathlib.Path({str(sentinel)!r}).exists():\n"
            "        time.sleep(60)\n\n\n"
            "def test_sub():\n    assert sub(5, 3) == 2\n"
        ),
    }
    mod = _sandboxed(tmp_path, files)
    sentinel.write_text("slow from now on")
    request.addfinalizer(sentinel.unlink)

    apply_modification.delay(mod.pk)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and mod.status != "applied":
        time.sleep(0.1)
        mod.refresh_from_db()
    assert mod.status == "applied", mod.status
    time.sleep(1.5)  # the post-apply tests are under way
    do_emergency_stop(operator, "drill during verification")

    interrupted = AuditEvent.objects.filter(
        modification=mod, kind="modification.verify_interrupted"
    )
    while time.monotonic() < deadline and not interrupted.exists():
        time.sleep(0.1)
    assert interrupted.exists()
    assert SandboxRun.objects.get(modification=mod, kind="verify").limit_hit == "emergency_stop"
    mod = Modification.objects.get(pk=mod.pk)
    assert mod.status == "applied" and mod.rollback_count == 0
    assert mod.workspace.head_commit() == mod.applied_commit
