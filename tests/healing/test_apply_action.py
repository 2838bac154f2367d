"""do_apply with real git repositories: one commit, a backup, a trailer, nothing half-applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_emergency_stop
from healing.apply import do_apply
from healing.models import ApplyJournal, Backup, WorkspaceLock
from tests import factories
from tests.apply_helpers import FIX, WIDE_FIX, approved_modification, make_repo, snapshot


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


@pytest.fixture
def ws(db: Any, tmp_path: Path) -> Any:
    return factories.make_workspace(make_repo(tmp_path), name="calc")


def test_it_lands_a_patch_as_one_commit_with_a_trailer(ws: Any, reviewer: Any) -> None:
    mod = approved_modification(ws)
    base = ws.head_commit()

    do_apply(mod, reviewer)

    mod.refresh_from_db()
    assert mod.status == "applied"
    assert mod.applied_commit == ws.head_commit() != base
    assert factories.git(ws.repo_path, "rev-parse", f"{mod.applied_commit}^").strip() == base
    message = factories.git(ws.repo_path, "log", "-1", "--format=%B")
    assert f"Selfheal-Modification: {mod.pk}" in message
    assert "return a - b" in (ws.repo_path / "app.py").read_text()
    assert snapshot(ws.repo_path)["status"] == ""
    journal = ApplyJournal.objects.get(modification=mod)
    assert journal.state == "done"
    assert [s.step for s in journal.steps.all()] == [
        "start",
        "build_commit",
        "backup",
        "write_files",
        "update_ref",
        "sync_index",
        "done",
    ]
    backup = Backup.objects.get(modification=mod)
    assert backup.files[0]["path"] == "app.py" and len(backup.files[0]["sha256"]) == 64
    assert (Path(backup.path) / "files" / "app.py").read_text().endswith("return a + b\n")
    assert not WorkspaceLock.objects.exists()


def test_it_authors_the_commit_as_the_approving_user(ws: Any, reviewer: Any) -> None:
    mod = approved_modification(ws, status="awaiting_approval")
    from healing.actions import transition

    transition(mod, "approved", reviewer, "looks right")

    do_apply(mod)

    assert (
        factories.git(ws.repo_path, "log", "-1", "--format=%an").strip() == reviewer.get_username()
    )


def test_it_lands_adds_and_deletes(ws: Any) -> None:
    mod = approved_modification(ws, diff=WIDE_FIX)
    do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "applied"
    assert (ws.repo_path / "pkg" / "new_module.py").exists()
    assert not (ws.repo_path / "notes.txt").exists()
    assert snapshot(ws.repo_path)["status"] == ""


def test_it_sends_a_stale_patch_back_to_validation(
    ws: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = approved_modification(ws)
    (ws.repo_path / "other.py").write_text("X = 1\n")
    factories.git(ws.repo_path, "add", "other.py")
    factories.git(ws.repo_path, "commit", "-q", "-m", "someone else")
    before = snapshot(ws.repo_path)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "validating"
    assert "stale" in mod.events.order_by("-id").first().reason
    assert any("_send_back_to_validation" in c.__qualname__ for c in callbacks)
    assert snapshot(ws.repo_path) == before


def test_it_blocks_at_apply_when_the_preflight_fails(ws: Any, operator: Any) -> None:
    mod = approved_modification(ws)
    do_emergency_stop(operator, "drill")
    before = snapshot(ws.repo_path)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "blocked"
    assert "emergency stop" in mod.block_reason
    assert snapshot(ws.repo_path) == before


def test_it_refuses_to_overwrite_uncommitted_work(ws: Any) -> None:
    mod = approved_modification(ws)
    (ws.repo_path / "app.py").write_text("# my local edit\n")
    before = snapshot(ws.repo_path)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "failed"
    assert "uncommitted changes in app.py" in mod.events.order_by("-id").first().reason
    assert snapshot(ws.repo_path) == before


def test_it_fails_cleanly_when_the_diff_no_longer_applies(ws: Any) -> None:
    mod = approved_modification(ws, diff=FIX.replace("return a + b", "return b + a"))
    before = snapshot(ws.repo_path)
    do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "failed"
    assert snapshot(ws.repo_path) == before
    assert ApplyJournal.objects.get(modification=mod).state == "undone"


def test_it_waits_while_another_worker_holds_the_workspace(ws: Any) -> None:
    from healing.apply.lock import WorkspaceBusy, acquire

    assert acquire(ws, "otherhost:1:abc")
    mod = approved_modification(ws)
    with pytest.raises(WorkspaceBusy):
        do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "approved"
