"""A real JavaScript project (left-pad 1.3.0 from npm, whose tests need tape and fast-check)
guarded under FULL isolation with `npm ci` as its setup command: its node_modules is built once
and bound into every run; the correct fix is applied and the wrong one rejected."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.real_projects import (
    LEFTPAD,
    LEFTPAD_BUG,
    LEFTPAD_WRONG,
    commit_edit,
    edit_diff,
    npm_release_repo,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap_works()[0], reason="FULL isolation needs bubblewrap"),
]
FINAL = {"applied", "rejected", "failed", "rolled_back", "cancelled"}


def _wait_for(client: Any, pk: int, statuses: set[str], timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/patches/{pk}/").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"patch {pk} still {body.get('status')!r}: {body}")


def test_it_guards_a_javascript_project_with_npm_ci(
    celery_worker_process: Any, tmp_path: Path, admin_user: Any, api_as: Any, reviewer: Any,
    second_reviewer: Any,
) -> None:  # fmt: skip
    repo = npm_release_repo(tmp_path / "left-pad", *LEFTPAD)
    commit_edit(repo, "index.js", *LEFTPAD_BUG, "a bug of our own: one space short")
    do_change_setting(admin_user, "apply.health_window_s", 0, "test: no health watch")
    do_change_setting(admin_user, "sandbox.wall_time_s", 120, "test: a slow shared machine")
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
    ids = {}
    for name, diff in (
        ("correct", edit_diff(repo, "index.js", LEFTPAD_BUG[1], LEFTPAD_BUG[0])),
        ("wrong", edit_diff(repo, "index.js", *LEFTPAD_WRONG)),
    ):
        envelope = {
            "schema_version": "2.0", "patch_id": f"left-pad-{name}", "workspace": "left-pad",
            "language": "javascript",
            "error_classification": {"error_type": "logic", "severity": "medium"},
            "confidence_scoring": {"logits": [6.0, 0.1, 0.1]}, "patch_data": {"diff": diff},
        }  # fmt: skip
        response = bot.post("/api/v1/patches/", envelope, format="json")
        assert response.status_code == 201, response.content
        ids[name] = response.json()["id"]

    assert _wait_for(bot, ids["wrong"], FINAL)["status"] == "rejected"
    body = _wait_for(bot, ids["correct"], FINAL | {"awaiting_approval"})
    for person in (reviewer, second_reviewer):
        if body["status"] != "awaiting_approval":
            break
        api_as(person).post(f"/api/v1/patches/{ids['correct']}/approve/", {}, format="json")
        body = _wait_for(bot, ids["correct"], FINAL | {"awaiting_approval"}, timeout=60)
    assert body["status"] == "applied", body
    [build] = api_as(reviewer).get(f"/api/v1/workspaces/{ws_id}/environments/").json()
    assert build["status"] == "ready" and "kept node_modules/" in build["log_tail"]
    assert (Path(build["path"]) / "tree" / "node_modules" / "tape").is_dir()
