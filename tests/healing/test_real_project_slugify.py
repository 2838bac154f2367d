"""A real project with a dependency Selfheal's environment lacks (python-slugify, whose tests
import text-unidecode), guarded under FULL isolation: registered over the API with a setup
command, its environment built by real pip installs from PyPI, then a correct fix applied and a
wrong one rejected. Only HTTP, the worker, git and pip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.intake_helpers import wait_for_patch
from tests.real_projects import (
    FINAL,
    SLUGIFY,
    SLUGIFY_BUG,
    SLUGIFY_REQUIREMENTS,
    SLUGIFY_WRONG,
    allow_slow_builds,
    commit_edit,
    edit_diff,
    rejected_then_approved,
    released_repo,
    submit,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap_works()[0], reason="FULL isolation needs bubblewrap"),
]

SETUP = "python -m pip install -r requirements.txt"
SOURCE = "slugify/slugify.py"


@pytest.fixture
def slugify_ws(tmp_path: Path, admin_user: Any, api_as: Any) -> dict:
    repo = released_repo(tmp_path / "slugify", *SLUGIFY, SLUGIFY_REQUIREMENTS)
    commit_edit(repo, SOURCE, *SLUGIFY_BUG, "a bug of our own: slugs keep their case")
    allow_slow_builds(admin_user)
    response = api_as(admin_user).post(
        "/api/v1/workspaces/",
        {
            "name": "slugify",
            "path": str(repo),
            "test_command": "python -m pytest -q -p no:cacheprovider test.py",
            "setup_command": SETUP,
            "isolation_level": "full",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["setup_command"] == SETUP
    return {"repo": repo, "id": response.json()["id"]}


def test_it_applies_the_correct_fix_and_rejects_the_wrong_one_in_the_projects_environment(
    celery_worker_process: Any, slugify_ws: dict, api_as: Any, reviewer: Any, second_reviewer: Any
) -> None:
    repo = slugify_ws["repo"]
    bot = api_as(factories.make_user("bot", role="agent"))
    correct = edit_diff(repo, SOURCE, SLUGIFY_BUG[1], SLUGIFY_BUG[0])
    wrong = edit_diff(repo, SOURCE, *SLUGIFY_WRONG)
    ids = {
        "correct": submit(bot, "slugify-correct", "slugify", "python", correct),
        "wrong": submit(bot, "slugify-wrong", "slugify", "python", wrong),
    }
    body = rejected_then_approved(bot, api_as, ids, (reviewer, second_reviewer), timeout=240)
    assert body["status"] == "applied", body
    assert "text = text.lower()" in (repo / SOURCE).read_text()

    from healing.models import AuditEvent, SandboxRun

    # The patches waited for the environment, then ran in it: the tests imported text_unidecode.
    reasons = AuditEvent.objects.filter(modification_id=ids["correct"], to_state="blocked")
    assert any(r.reason.startswith("environment building") for r in reasons)
    run = SandboxRun.objects.filter(modification_id=ids["correct"], kind="patched").first()
    assert run.isolation_level == "full"
    assert run.detail["environment"].endswith(
        api_as(reviewer)
        .get(f"/api/v1/workspaces/{slugify_ws['id']}/environments/")
        .json()[0]["key"]
    )
    # Selfheal's instruments worked in the project's environment: JUnit per test, coverage.
    assert any(t["outcome"] == "passed" for t in run.tests)
    assert run.coverage is not None and run.detail["command"][:3] == ["python", "-m", "coverage"]
    assert not [t for t in run.tests if "ModuleNotFoundError" in t.get("message", "")]
    builds = api_as(reviewer).get(f"/api/v1/workspaces/{slugify_ws['id']}/environments/").json()
    assert [b["status"] for b in builds] == ["ready"]
    assert builds[0]["packages"]["text-unidecode"] == "1.3"
    assert set(builds[0]["tools_added"]) == {"pytest", "coverage"}
    assert "installing" in builds[0]["log_tail"]


def test_it_builds_a_dependency_change_from_the_patched_tree_and_shows_the_package_diff(
    celery_worker_process: Any, slugify_ws: dict, api_as: Any, reviewer: Any, client: Any
) -> None:
    repo = slugify_ws["repo"]
    bot = api_as(factories.make_user("bot", role="agent"))
    fix = edit_diff(repo, SOURCE, SLUGIFY_BUG[1], SLUGIFY_BUG[0])
    # The fix also pins the optional Unidecode: a dependency change.
    pin = edit_diff(
        repo, "requirements.txt", SLUGIFY_REQUIREMENTS, SLUGIFY_REQUIREMENTS + "Unidecode==1.3.8\n"
    )
    pk = submit(bot, "slugify-deps", "slugify", "python", fix + pin)

    body = wait_for_patch(bot, pk, FINAL | {"awaiting_approval"}, 360, interval=0.5)
    assert body["status"] == "awaiting_approval", body
    assert body["safety_level"] in {"MEDIUM_RISK", "HIGH_RISK", "CRITICAL"}
    from healing.models import Modification

    mod = Modification.objects.get(pk=pk)
    [finding] = mod.validation["dependencies"]["findings"]
    assert "requirements.txt" in finding["message"]
    builds = api_as(reviewer).get(f"/api/v1/workspaces/{slugify_ws['id']}/environments/").json()
    assert sorted(b["status"] for b in builds) == ["ready", "ready"]
    patched = next(b for b in builds if "unidecode" in b["packages"])
    assert patched["packages"]["unidecode"] == "1.3.8" and patched["commit"] == mod.base_commit
    client.force_login(reviewer)
    page = client.get(f"/patches/{pk}/").content.decode()
    assert 'id="dependency-diff"' in page and "+ unidecode 1.3.8" in page
