"""The workspace's setup command over the API and add_workspace, and its environment builds at
GET/POST /api/v1/workspaces/{id}/environments/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from healing.models import DEFAULT_SETUP_INPUTS, EnvironmentBuild, Workspace
from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db
SETUP = "python -m pip install -r requirements.txt"


def test_it_registers_a_setup_command_over_the_api(
    api_as: Any, admin_user: Any, tmp_path: Path
) -> None:
    repo = factories.make_git_repo(tmp_path / "shop")
    body = {"name": "shop", "path": str(repo), "setup_command": SETUP}
    response = api_as(admin_user).post("/api/v1/workspaces/", body, format="json")
    assert response.status_code == 201, response.json()
    ws = Workspace.objects.get(name="shop")
    assert (ws.setup_command, ws.setup_inputs, ws.interpreter) == (SETUP, DEFAULT_SETUP_INPUTS, "")


def test_it_refuses_an_interpreter_that_is_not_an_executable(
    api_as: Any, admin_user: Any, tmp_path: Path
) -> None:
    repo = factories.make_git_repo(tmp_path / "shop")
    body = {"name": "shop", "path": str(repo), "interpreter": "python3"}
    response = api_as(admin_user).post("/api/v1/workspaces/", body, format="json")
    assert response.status_code == 400 and "interpreter" in response.json()["fields"]
    assert not Workspace.objects.exists()


def test_it_registers_a_setup_command_with_add_workspace(tmp_path: Path) -> None:
    repo = factories.make_git_repo(tmp_path / "shop")
    call_command("add_workspace", "shop", str(repo), "--setup-command", SETUP)
    assert Workspace.objects.get(name="shop").setup_command == SETUP


def test_it_lists_a_workspaces_builds_to_staff_only(
    api_as: Any, reviewer: Any, agent: Any, workspace: Any
) -> None:
    EnvironmentBuild.objects.create(
        workspace=workspace, key="k" * 64, commit="c", setup_command=SETUP,
        interpreter="/usr/bin/python3", path="/nowhere", status="failed", log_tail="boom",
    )  # fmt: skip
    url = f"/api/v1/workspaces/{workspace.pk}/environments/"
    body = api_as(reviewer).get(url).json()
    assert [(b["status"], b["log_tail"]) for b in body] == [("failed", "boom")]
    assert api_as(agent).get(url).status_code == 403
    assert api_as(reviewer).get("/api/v1/workspaces/999/environments/").status_code == 404
    assert api_as(reviewer).post(url).status_code == 403  # a rebuild is an operator's


def test_it_refuses_a_rebuild_for_a_workspace_without_a_setup_command(
    api_as: Any, operator: Any, workspace: Any
) -> None:
    url = f"/api/v1/workspaces/{workspace.pk}/environments/"
    response = api_as(operator).post(url)
    assert response.status_code == 400 and "no setup command" in response.json()["detail"]


def test_it_finds_a_dependency_change_only_where_there_is_a_setup_command(
    workspace: Any,
) -> None:
    diff = "--- /dev/null\n+++ b/requirements.txt\n@@ -0,0 +1 @@\n+six==1.16.0\n"
    plain = run_pipeline(ValidationContext(workspace=workspace, diff=diff))
    assert not [f for f in plain.findings if f.rule == "dependency.change"]
    workspace.setup_command = SETUP
    found = run_pipeline(ValidationContext(workspace=workspace, diff=diff)).findings
    [finding] = [f for f in found if f.rule == "dependency.change"]
    assert finding.severity == "medium" and "requirements.txt" in finding.message


# The text names deps/requirements.txt; git strips one directory (as the apply does) and writes
# requirements.txt: the verdict is git's.
MISLEADING = "--- deps/requirements.txt\n+++ deps/requirements.txt\n@@ -1 +1 @@\n-# none\n+six\n"


def test_it_finds_a_dependency_change_where_git_writes_it_not_where_the_text_says(
    tmp_path: Path,
) -> None:
    repo = factories.make_git_repo(tmp_path / "shop", {"requirements.txt": "# none\n"})
    ws = factories.make_workspace(repo, name="shop", setup_command=SETUP)
    report = run_pipeline(ValidationContext(workspace=ws, diff=MISLEADING))
    assert report.rejected  # the diff is ambiguous, and says so
    [finding] = [f for f in report.findings if f.rule == "dependency.change"]
    assert finding.file == "requirements.txt"
