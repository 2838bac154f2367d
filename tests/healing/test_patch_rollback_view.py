"""POST /api/v1/patches/{id}/rollback/ (operator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.apply_helpers import APP, applied_fix, approved_modification, make_repo


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


@pytest.fixture
def applied(db: Any, tmp_path: Path) -> Any:
    return applied_fix(tmp_path)


def test_it_rolls_back_for_an_operator(applied: Any, operator: Any, api_as: Any) -> None:
    response = api_as(operator).post(
        f"/api/v1/patches/{applied.pk}/rollback/", {"reason": "pager went off"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rolled_back"
    assert (applied.workspace.repo_path / "app.py").read_text() == APP
    event = applied.events.order_by("-id").first()
    assert event.actor == operator and event.reason == "pager went off"


@pytest.mark.parametrize("persona", ["reviewer", "agent", "outsider"])
def test_it_refuses_other_roles(applied: Any, api_as: Any, persona: str, request: Any) -> None:
    user = request.getfixturevalue(persona)
    response = api_as(user).post(
        f"/api/v1/patches/{applied.pk}/rollback/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    applied.refresh_from_db()
    assert applied.status == "applied"


def test_it_needs_a_reason(applied: Any, operator: Any, api_as: Any) -> None:
    response = api_as(operator).post(
        f"/api/v1/patches/{applied.pk}/rollback/", {"reason": "  "}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


def test_it_answers_malformed_json_with_400(applied: Any, operator: Any, api_as: Any) -> None:
    response = api_as(operator).post(
        f"/api/v1/patches/{applied.pk}/rollback/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_it_answers_409_for_a_patch_that_was_not_applied(
    db: Any, tmp_path: Path, operator: Any, api_as: Any
) -> None:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc")
    mod = approved_modification(ws)
    response = api_as(operator).post(
        f"/api/v1/patches/{mod.pk}/rollback/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 409


def test_it_answers_404_for_an_unknown_patch(db: Any, operator: Any, api_as: Any) -> None:
    response = api_as(operator).post(
        "/api/v1/patches/999999/rollback/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 404
