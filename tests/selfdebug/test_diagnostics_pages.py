"""The console pages: the list of runs and one run's report."""

from __future__ import annotations

from typing import Any

from django.test import Client

from selfdebug.models import DiagnosticRun


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


REPORT = {
    "test_run_id": 1,
    "timestamp": "2026-01-01T00:00:00+00:00",
    "total_tests": 2,
    "failures": 1,
    "diagnostics": [
        {
            "test_id": "test_a.py::test_x",
            "error_message": "NameError: name 'totl' is not defined",
            "location": {"path": "a.py", "line": 2},
            "isolation": "real",
            "isolation_detail": {"note": ""},
            "matched_patterns": [
                {
                    "slug": "py-name-close-match",
                    "name": "Undefined name",
                    "error_type": "runtime",
                    "severity": "medium",
                }
            ],
            "suggested_actions": ["Fix the typo <script>"],
            "potential_fixes": [
                {
                    "template": "python.name_close_match",
                    "description": "Use total",
                    "diff": "--- a/a.py\n+++ b/a.py\n",
                    "verification": {"passed": True},
                }
            ],
            "traceback": "a.py:2: NameError",
        }
    ],
}


def test_it_lists_runs_and_offers_operators_a_run_button(
    operator: Any, reviewer: Any, workspace: Any
) -> None:
    DiagnosticRun.objects.create(
        workspace=workspace, status="done", total=2, failed=1, coverage_percent=50.0
    )
    page = _client(operator).get("/diagnostics/")
    assert page.status_code == 200
    assert b"Run now" in page.content and b"50.0 %" in page.content
    assert b"Run now" not in _client(reviewer).get("/diagnostics/").content


def test_it_shows_a_report(reviewer: Any, workspace: Any) -> None:
    run = DiagnosticRun.objects.create(
        workspace=workspace,
        status="done",
        total=2,
        failed=1,
        report=REPORT,
        log={
            "entries": [
                {"kind": "enter", "name": "diagnostic_run", "depth": 0, "parameters": {"run": 1}}
            ]
        },
    )
    page = _client(reviewer).get(f"/diagnostics/runs/{run.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "test_a.py::test_x",
        "NameError: name &#x27;totl&#x27; is not defined",
        "py-name-close-match",
        "Use total",
        "tests with the fix: pass",
        "diagnostic_run",
        "real",
    ):
        assert text in html
    assert "<script>" not in html.split("{% block scripts %}")[0].split("Fix the typo")[1][:20]


def test_it_starts_a_run_from_the_page(
    operator: Any, workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = _client(operator).post("/diagnostics/runs/", {"workspace": workspace.pk})
    run = DiagnosticRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()


def test_it_keeps_pages_from_outsiders_and_reviewers_from_running(
    outsider: Any, reviewer: Any, workspace: Any
) -> None:
    assert _client(outsider).get("/diagnostics/").status_code == 403
    assert (
        _client(reviewer).post("/diagnostics/runs/", {"workspace": workspace.pk}).status_code == 403
    )
    assert Client().get("/diagnostics/").status_code == 302  # to the login page
    assert not DiagnosticRun.objects.exists()


def test_it_answers_a_bad_workspace_with_a_message(operator: Any, workspace: Any) -> None:
    response = _client(operator).post("/diagnostics/runs/", {"workspace": "x' OR 1=1"}, follow=True)
    assert response.status_code == 200 and b"Choose an active workspace" in response.content


def test_it_lets_admins_edit_patterns_in_the_admin(db: Any) -> None:
    from tests import factories

    admin = factories.make_user("root", password="pw-for-tests-1")
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    client = _client(admin)
    listing = client.get("/admin/selfdebug/knownpattern/")
    assert listing.status_code == 200 and b"py-name-close-match" in listing.content
    from selfdebug.models import KnownPattern

    pattern = KnownPattern.objects.get(slug="py-zero-division")
    page = client.get(f"/admin/selfdebug/knownpattern/{pattern.pk}/change/")
    assert page.status_code == 200
