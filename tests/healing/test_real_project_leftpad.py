"""A real JavaScript project (left-pad 1.3.0 from npm, whose tests need tape and fast-check)
guarded under FULL isolation with `npm ci` as its setup command: its node_modules is built once
and bound into every run; the correct fix is applied and the wrong one rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.real_projects import (
    LEFTPAD,
    LEFTPAD_BUG,
    LEFTPAD_WRONG,
    allow_slow_builds,
    commit_edit,
    edit_diff,
    npm_release_repo,
    rejected_then_approved,
    submit,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap_works()[0], reason="FULL isolation needs bubblewrap"),
]


def test_it_guards_a_javascript_project_with_npm_ci(
    celery_worker_process: Any, tmp_path: Path, admin_user: Any, api_as: Any, reviewer: Any,
    second_reviewer: Any,
) -> None:  # fmt: skip
    repo = npm_release_repo(tmp_path / "left-pad", *LEFTPAD)
    commit_edit(repo, "index.js", *LEFTPAD_BUG, "a bug of our own: one space short")
    allow_slow_builds(admin_user)
    response = api_as(admin_user).post(
        "/api/v1/workspaces/",
        {"name": "left-pad", "path": str(repo), "test_command": "node --test test.js",
         "setup_command": "npm ci --ignore-scripts", "languages": ["javascript"],
         "isolation_level": "full"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    ws_id = response.json()["id"]
    bot = api_as(factories.make_user("bot", role="agent"))
    ids = {
        "correct": submit(bot, "left-pad-correct", "left-pad", "javascript",
                          edit_diff(repo, "index.js", LEFTPAD_BUG[1], LEFTPAD_BUG[0])),
        "wrong": submit(bot, "left-pad-wrong", "left-pad", "javascript",
                        edit_diff(repo, "index.js", *LEFTPAD_WRONG)),
    }  # fmt: skip
    body = rejected_then_approved(bot, api_as, ids, (reviewer, second_reviewer), timeout=300)
    assert body["status"] == "applied", body
    [build] = api_as(reviewer).get(f"/api/v1/workspaces/{ws_id}/environments/").json()
    assert build["status"] == "ready" and "kept node_modules/" in build["log_tail"]
    assert (Path(build["path"]) / "tree" / "node_modules" / "tape").is_dir()
