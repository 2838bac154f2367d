"""POST/GET /api/v1/diagnostics/runs/ and the report and log of one run."""

from __future__ import annotations

from typing import Any

import pytest

from selfdebug.models import DiagnosticRun
from selfdebug.tasks import run_diagnostics
from tests import factories

URL = "/api/v1/diagnostics/runs/"


@pytest.mark.parametrize("persona", ["operator", "admin_user"])
def test_it_queues_a_run_for_operators_and_admins(
    request: Any, persona: str, workspace: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = request.getfixturevalue(persona)
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as(user).post(URL, {"workspace": "demo"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (
        body["status"] == "queued"
        and body["workspace"] == "demo"
        and body["requested_by"] == user.username
    )
    assert body["url"] == f"/api/v1/diagnostics/runs/{body['id']}/"
    assert DiagnosticRun.objects.get(pk=body["id"]).trigger == "manual"


def test_it_accepts_the_workspace_id_too(
    operator: Any, workspace: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as(operator).post(URL, {"workspace": workspace.pk}, format="json")
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("persona", "code"), [("reviewer", 403), ("agent", 403), ("outsider", 403), (None, 401)]
)
def test_it_refuses_others(
    request: Any, persona: str | None, code: int, workspace: Any, api_as: Any
) -> None:
    user = request.getfixturevalue(persona) if persona else None
    response = api_as(user).post(URL, {"workspace": "demo"}, format="json")
    assert response.status_code == code
    assert not DiagnosticRun.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"workspace": ""},
        {"workspace": "nope"},
        {"workspace": 999},
        {"workspace": True},
        {"workspace": ["demo"]},
        {"workspace": "x" * 5000},
        {"workspace": "\x00"},  # PostgreSQL refuses NUL in text: a 400, not a 500
        {"workspace": "de\x00mo"},
        {"workspace": "9" * 30},  # past any id the database can hold
        {"workspace": 2**63},
    ],
)
def test_it_answers_bad_input_with_a_field_message(
    operator: Any, workspace: Any, api_as: Any, body: dict
) -> None:
    response = api_as(operator).post(URL, body, format="json")
    assert response.status_code == 400
    assert "workspace" in response.json()["fields"]
    assert not DiagnosticRun.objects.exists()


def test_it_lists_nothing_for_a_workspace_name_holding_nul(
    operator: Any, workspace: Any, api_as: Any
) -> None:
    response = api_as(operator).get(URL, {"workspace": "de\x00mo"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_it_answers_malformed_json_with_400(operator: Any, workspace: Any, api_as: Any) -> None:
    response = api_as(operator).post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    response = api_as(operator).post(URL, "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_it_refuses_an_inactive_workspace(operator: Any, workspace: Any, api_as: Any) -> None:
    workspace.is_active = False
    workspace.save(update_fields=["is_active"])
    assert api_as(operator).post(URL, {"workspace": "demo"}, format="json").status_code == 400


def test_it_keeps_one_open_run_per_workspace(
    operator: Any, workspace: Any, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        first = api_as(operator).post(URL, {"workspace": "demo"}, format="json").json()
    second = api_as(operator).post(URL, {"workspace": "demo"}, format="json")
    assert second.status_code == 409
    assert second.json()["run"]["id"] == first["id"]
    assert DiagnosticRun.objects.count() == 1


def test_it_returns_the_report_and_log_of_a_finished_run(
    tmp_path: Any,
    operator: Any,
    reviewer: Any,
    api_as: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    repo = factories.make_git_repo(
        tmp_path / "r",
        {
            "app.py": "def add(a, b):\n    return a + b\n",
            "test_app.py": "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_d():\n    assert {}['k']\n",
        },
    )
    factories.make_workspace(
        repo, name="keys", policy_overrides={"diagnostics.static_analysis": False}
    )
    with django_capture_on_commit_callbacks(execute=False):
        run_id = api_as(operator).post(URL, {"workspace": "keys"}, format="json").json()["id"]
    run_diagnostics(run_id)

    detail = api_as(reviewer).get(f"{URL}{run_id}/")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["status"], body["total"], body["passed"], body["failed"]) == ("done", 2, 1, 1)
    report = body["report"]
    assert (
        report["test_run_id"] == run_id and report["total_tests"] == 2 and report["failures"] == 1
    )
    [d] = report["diagnostics"]
    assert d["error_message"] == "KeyError: 'k'"
    assert d["matched_patterns"][0]["slug"] == "py-key-error-get"
    assert d["suggested_actions"]

    listing = api_as(reviewer).get(URL, {"workspace": "keys"}).json()["results"]
    assert [r["id"] for r in listing] == [run_id]

    log = api_as(reviewer).get(f"{URL}{run_id}/log/").json()
    assert log["run"] == run_id
    assert log["entries"][0]["kind"] == "enter" and log["entries"][0]["name"] == "diagnostic_run"


def test_it_answers_404_for_an_unknown_run(reviewer: Any, api_as: Any) -> None:
    assert api_as(reviewer).get(f"{URL}12345/").status_code == 404
    assert api_as(reviewer).get(f"{URL}12345/log/").status_code == 404


def test_it_lists_the_known_patterns_with_their_history(reviewer: Any, api_as: Any) -> None:
    patterns = api_as(reviewer).get("/api/v1/diagnostics/patterns/").json()
    assert len([p for p in patterns if p["language"] == "python"]) >= 15
    assert len([p for p in patterns if p["language"] == "javascript"]) >= 5
    assert all("success_rate" in p and "history" in p for p in patterns)
