"""GET /api/v1/bugs/ and POST /api/v1/bugs/{id}/fix/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healing.models import Modification
from selfdebug.bugs import scan_tree
from selfdebug.models import DetectedBug, FixProposal
from tests import factories

SOURCE = """import os, sys
import subprocess


def run(cmd):
    try:
        return subprocess.call(cmd, shell=True)
    except:
        return totl


def name():
    return sys.argv[0]
"""


def _bugs(tmp_path: Path) -> tuple[Any, list[DetectedBug]]:
    repo = factories.make_git_repo(tmp_path / "r", {"tool.py": SOURCE})
    workspace = factories.make_workspace(repo, name="tool")
    found = scan_tree(repo)
    rows = DetectedBug.objects.bulk_create(
        [DetectedBug(workspace=workspace, **b.as_dict()) for b in found]
    )
    return workspace, rows


def test_it_finds_undefined_names_unused_imports_bare_excepts_and_dangerous_calls(
    tmp_path: Path, db: Any
) -> None:
    _, bugs = _bugs(tmp_path)
    found = {(b.tool, b.code.split(":")[0], b.line, b.severity) for b in bugs}
    assert ("pyflakes", "unused-import", 1, "low") in found
    assert ("pyflakes", "undefined-name", 9, "high") in found
    assert ("ast", "bare-except", 8, "medium") in found
    assert ("bandit", "B602", 7, "high") in found  # subprocess with shell=True


def test_it_lists_bugs_by_workspace_and_severity(
    tmp_path: Path, reviewer: Any, api_as: Any
) -> None:
    _bugs(tmp_path)
    high = (
        api_as(reviewer)
        .get("/api/v1/bugs/", {"workspace": "tool", "severity": "high"})
        .json()["results"]
    )
    assert {b["code"].split(":")[0] for b in high} == {"undefined-name", "B602"}


def test_it_proposes_a_template_fix_for_a_bug_as_a_modification(
    tmp_path: Path, operator: Any, api_as: Any
) -> None:
    _, bugs = _bugs(tmp_path)
    unused = next(b for b in bugs if b.code == "unused-import")
    response = api_as(operator).post(f"/api/v1/bugs/{unused.pk}/fix/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "builtin:bug-unused-import"
    assert "-import os, sys\n+import sys\n" in body["diff"]
    modification = Modification.objects.get(pk=body["modification"])
    assert modification.source == "builtin:bug-unused-import" and modification.status == "received"

    bare = next(b for b in bugs if b.code == "bare-except")
    assert (
        "+    except Exception:\n"
        in api_as(operator).post(f"/api/v1/bugs/{bare.pk}/fix/").json()["diff"]
    )


def test_it_answers_422_when_no_template_fits(tmp_path: Path, operator: Any, api_as: Any) -> None:
    _, bugs = _bugs(tmp_path)
    shell = next(b for b in bugs if b.code.startswith("B602"))
    response = api_as(operator).post(f"/api/v1/bugs/{shell.pk}/fix/")
    assert response.status_code == 422
    assert "No fix template" in response.json()["detail"]
    assert not FixProposal.objects.exists()


def test_it_refuses_reviewers_and_unknown_bugs(
    tmp_path: Path, reviewer: Any, operator: Any, api_as: Any
) -> None:
    _, bugs = _bugs(tmp_path)
    assert api_as(reviewer).post(f"/api/v1/bugs/{bugs[0].pk}/fix/").status_code == 403
    assert api_as(operator).post("/api/v1/bugs/999999/fix/").status_code == 404
