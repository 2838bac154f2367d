from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.models import Workspace
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/workspaces/"


def test_it_lets_an_admin_register_a_workspace(
    api_as: Any, admin_user: Any, tmp_path: Path
) -> None:
    repo = factories.make_git_repo(tmp_path / "shop")
    body = {
        "name": "shop",
        "path": str(repo),
        "languages": ["python", "php"],
        "import_denylist": ["pickle"],
        "policy_overrides": {"safety.auto_apply_threshold": "SAFE"},
    }
    response = api_as(admin_user).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    ws = Workspace.objects.get(name="shop")
    assert (ws.branch, ws.languages, ws.import_denylist) == ("main", ["python", "php"], ["pickle"])
    assert ws.policy_overrides == {"safety.auto_apply_threshold": "SAFE"}
    assert response.json()["protected_paths"][0] == ".git/**"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"path": "/definitely/not/here"}, "path"),
        ({"name": "not a slug!"}, "name"),
        ({"languages": ["cobol"]}, "languages"),
        ({"policy_overrides": {"no.such.key": 1}}, "policy_overrides"),
        ({"policy_overrides": {"safety.auto_apply_threshold": "CRITICAL"}}, "policy_overrides"),
    ],
)
def test_it_answers_400_with_the_field_at_fault(
    api_as: Any, admin_user: Any, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    body = {"name": "shop", "path": str(factories.make_git_repo(tmp_path / "shop")), **change}
    response = api_as(admin_user).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Workspace.objects.exists()


def test_it_refuses_a_duplicate_name(
    api_as: Any, admin_user: Any, workspace: Any, tmp_path: Path
) -> None:
    body = {"name": "demo", "path": str(factories.make_git_repo(tmp_path / "other"))}
    response = api_as(admin_user).post(URL, body, format="json")
    assert response.status_code == 400 and "exists" in response.json()["fields"]["name"][0]


@pytest.mark.parametrize("persona", ["agent", "reviewer", "operator"])
def test_it_lets_only_admins_register(
    api_as: Any, request: Any, tmp_path: Path, persona: str
) -> None:
    body = {"name": "shop", "path": str(factories.make_git_repo(tmp_path / "shop"))}
    assert (
        api_as(request.getfixturevalue(persona)).post(URL, body, format="json").status_code == 403
    )


def test_it_lists_workspaces_to_staff_but_not_to_agents_or_outsiders(
    api_as: Any, reviewer: Any, agent: Any, outsider: Any, workspace: Any
) -> None:
    assert [w["name"] for w in api_as(reviewer).get(URL).json()] == ["demo"]
    assert api_as(agent).get(URL).status_code == 403
    assert api_as(outsider).get(URL).status_code == 403
    assert api_as(None).get(URL).status_code == 401
