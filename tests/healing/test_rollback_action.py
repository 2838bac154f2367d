"""do_rollback and do_restore_backup: git revert, checksum-checked backups, refusal when corrupt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.apply import do_restore_backup, do_rollback
from healing.apply.backups import BackupCorrupt, prune_backups
from healing.models import AuditEvent, Backup, InvalidTransition
from tests import factories
from tests.apply_helpers import APP, applied_fix, approved_modification, make_repo, snapshot


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


@pytest.fixture
def applied(db: Any, tmp_path: Path) -> Any:
    mod = applied_fix(tmp_path)
    assert mod.status == "applied"
    return mod


def test_it_reverts_the_commit(applied: Any, operator: Any) -> None:
    ws = applied.workspace
    do_rollback(applied, operator, "broke production")
    applied.refresh_from_db()
    assert applied.status == "rolled_back"
    assert applied.rollback_count == 1
    assert (ws.repo_path / "app.py").read_text() == APP
    assert f"Selfheal-Rollback: {applied.pk}" in factories.git(
        ws.repo_path, "log", "-1", "--format=%B"
    )
    assert factories.git(ws.repo_path, "rev-parse", "HEAD^").strip() == applied.applied_commit
    assert snapshot(ws.repo_path)["status"] == ""
    event = applied.events.order_by("-id").first()
    assert event.to_state == "rolled_back" and event.data["method"] == "revert"


def test_it_falls_back_to_the_backup_when_the_revert_conflicts(applied: Any, operator: Any) -> None:
    ws = applied.workspace
    (ws.repo_path / "app.py").write_text(APP.replace("return a - b", "return a - b  # reviewed"))
    factories.git(ws.repo_path, "commit", "-qam", "touch the same line")
    do_rollback(applied, operator, "take it out")
    applied.refresh_from_db()
    assert applied.status == "rolled_back"
    assert (ws.repo_path / "app.py").read_text() == APP
    assert applied.events.order_by("-id").first().data["method"] == "backup"


def test_it_refuses_a_corrupt_backup(applied: Any, operator: Any) -> None:
    ws = applied.workspace
    (ws.repo_path / "app.py").write_text("conflicting\n")
    factories.git(ws.repo_path, "commit", "-qam", "conflict")
    backup = Backup.objects.get(modification=applied)
    (Path(backup.path) / "files" / "app.py").write_text("tampered\n")
    before = snapshot(ws.repo_path)

    with pytest.raises(BackupCorrupt, match="app.py"):
        do_rollback(applied, operator, "take it out")

    applied.refresh_from_db()
    assert applied.status == "applied"
    assert snapshot(ws.repo_path) == before
    assert AuditEvent.objects.filter(kind="backup.restore_refused", modification=applied).exists()


def test_it_rolls_back_automatically_only_once(applied: Any) -> None:
    applied.rollback_count = 1
    applied.save(update_fields=["rollback_count"])
    do_rollback(applied, "system", "flapping", automatic=True)
    applied.refresh_from_db()
    assert applied.status == "applied"
    assert AuditEvent.objects.filter(kind="modification.rollback_suppressed").exists()


def test_it_holds_an_automatic_rollback_while_the_emergency_stop_is_in_force(
    applied: Any, operator: Any
) -> None:
    from healing.actions import do_emergency_stop

    head = applied.workspace.head_commit()
    do_emergency_stop(operator, "hands off")
    do_rollback(applied, "system", "health is CRITICAL", automatic=True)
    applied.refresh_from_db()
    assert applied.status == "applied" and applied.rollback_count == 0
    assert applied.workspace.head_commit() == head
    event = AuditEvent.objects.get(kind="modification.rollback_suppressed")
    assert "emergency stop is in force" in event.reason
    # A person still can.
    do_rollback(applied, operator, "by hand during the stop")
    applied.refresh_from_db()
    assert applied.status == "rolled_back"


def test_it_refuses_to_roll_back_what_was_never_applied(
    db: Any, tmp_path: Path, operator: Any
) -> None:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc")
    with pytest.raises(InvalidTransition):
        do_rollback(approved_modification(ws), operator, "nope")


def test_it_restores_a_backup_as_a_commit(applied: Any, admin_user: Any) -> None:
    backup = Backup.objects.get(modification=applied)
    do_restore_backup(backup, admin_user, "by hand")
    applied.refresh_from_db()
    backup.refresh_from_db()
    assert (applied.workspace.repo_path / "app.py").read_text() == APP
    assert backup.restored_at is not None
    assert applied.status == "rolled_back"


def test_it_prunes_backups_beyond_the_count(applied: Any, admin_user: Any) -> None:
    from healing.actions import do_change_setting

    ws = applied.workspace
    from healing.apply.backups import create_backup

    for _ in range(3):
        create_backup(ws, ws.head_commit(), ["app.py"])
    do_change_setting(admin_user, "apply.backup_max_count", 2)
    assert prune_backups() == 2
    assert Backup.objects.live().count() == 2
    assert sum(1 for b in Backup.objects.all() if Path(b.path).exists()) == 2
