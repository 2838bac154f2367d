"""GET /api/v1/backups/ and POST /api/v1/backups/{id}/restore/ (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.models import AuditEvent, Backup
from tests.apply_helpers import APP, applied_fix, snapshot


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


@pytest.fixture
def backup(db: Any, tmp_path: Path) -> Backup:
    return Backup.objects.get(modification=applied_fix(tmp_path))


def test_it_lists_backups_with_their_manifest(backup: Backup, admin_user: Any, api_as: Any) -> None:
    response = api_as(admin_user).get("/api/v1/backups/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0]["files"][0]["path"] == "app.py"
    assert len(body["results"][0]["files"][0]["sha256"]) == 64


def test_it_keeps_backups_from_operators(backup: Backup, operator: Any, api_as: Any) -> None:
    assert api_as(operator).get("/api/v1/backups/").status_code == 403
    assert (
        api_as(operator)
        .post(f"/api/v1/backups/{backup.pk}/restore/", {}, format="json")
        .status_code
        == 403
    )


def test_it_restores_a_backup(backup: Backup, admin_user: Any, api_as: Any) -> None:
    response = api_as(admin_user).post(
        f"/api/v1/backups/{backup.pk}/restore/", {"reason": "by hand"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["backup"]["restored_at"]
    assert (backup.workspace.repo_path / "app.py").read_text() == APP


def test_it_refuses_a_corrupt_backup_and_reports_it(
    backup: Backup, admin_user: Any, api_as: Any
) -> None:
    (Path(backup.path) / "files" / "app.py").write_text("tampered\n")
    before = snapshot(backup.workspace.repo_path)

    response = api_as(admin_user).post(f"/api/v1/backups/{backup.pk}/restore/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "backup_corrupt"
    assert response.json()["mismatches"] == ["app.py"]
    assert snapshot(backup.workspace.repo_path) == before
    assert AuditEvent.objects.filter(kind="backup.restore_refused").count() == 1


def test_it_answers_404_for_an_unknown_backup(db: Any, admin_user: Any, api_as: Any) -> None:
    assert (
        api_as(admin_user).post("/api/v1/backups/424242/restore/", {}, format="json").status_code
        == 404
    )
