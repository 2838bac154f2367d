"""Remote workspaces end to end: the API registers the remote, an agent submits, a real Celery
worker fetches its own mirror, validates, sandboxes, scores and lands through a real `git daemon`
(and a local forge API for pull requests). Only HTTP, the worker, git and the forge's webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from healing.actions import do_change_setting
from healing.sandbox_probe import best_isolation_level
from tests import factories
from tests.apply_helpers import APP, FIX, TESTS
from tests.remote_helpers import bare_remote, forge_server, git_daemon, move_remote, remote_head
from tests.system.test_pipeline_end_to_end import FINAL, _envelope, _history, _submit, _wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "e2e-webhook-secret"  # noqa: S105


@pytest.fixture
def served(tmp_path: Path, admin_user: Any) -> Any:
    seed = factories.make_git_repo(tmp_path / "seed", {"app.py": APP, "test_app.py": TESTS})
    bare = bare_remote(tmp_path / "served", seed)
    do_change_setting(admin_user, "apply.health_window_s", 0, "end-to-end test: no health watch")
    with git_daemon(tmp_path / "served") as url:
        yield bare, f"{url}repo.git"


@pytest.fixture
def bot(api_as: Any) -> Any:
    return api_as(factories.make_user("bot", role="agent"))


def _register(api_as: Any, admin_user: Any, url: str, **extra: Any) -> dict:
    level, _ = best_isolation_level()
    response = api_as(admin_user).post(
        "/api/v1/workspaces/",
        {
            "name": "demo",
            "remote_url": url,
            "isolation_level": level,
            "test_command": "python -m pytest -q -p no:cacheprovider",
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_pushes_a_clean_fix_to_the_remote(
    celery_worker_process: Any, served: Any, bot: Any, api_as: Any, admin_user: Any
) -> None:
    bare, url = served
    base = remote_head(bare)
    _register(api_as, admin_user, url)

    body = _wait_for(bot, _submit(bot, _envelope("remote-push-1", FIX)), FINAL)

    assert body["status"] == "applied", body
    head = remote_head(bare)
    assert head != base and factories.git(bare, "rev-parse", f"{head}^").strip() == base
    assert "Selfheal-Modification:" in factories.git(bare, "log", "-1", "--format=%B", head)
    assert "return a - b" in factories.git(bare, "show", f"{head}:app.py")


def test_it_validates_again_when_the_remote_moved_while_the_patch_waited(
    celery_worker_process: Any,
    served: Any,
    bot: Any,
    api_as: Any,
    admin_user: Any,
    reviewer: Any,
    second_reviewer: Any,
    tmp_path: Path,
) -> None:
    bare, url = served
    _register(api_as, admin_user, url)
    pk = _submit(bot, _envelope("remote-moved-1", FIX, severity="critical"))
    assert _wait_for(bot, pk, FINAL | {"awaiting_approval"})["status"] == "awaiting_approval"
    moved = move_remote(bare, tmp_path)  # someone pushes while the reviewers read

    for person in (reviewer, second_reviewer):
        response = api_as(person).post(
            f"/api/v1/patches/{pk}/approve/", {"comment": "ok"}, format="json"
        )
        assert response.status_code == 200, response.content

    body = _wait_for(bot, pk, FINAL | {"awaiting_approval"}, timeout=90)
    history = _history(pk)
    assert history[:4] == ["validating", "sandboxing", "awaiting_approval", "approved"], history
    assert "validating" in history[4:], history  # sent back by the stale check, checked again
    assert body["status"] == "awaiting_approval", body
    assert remote_head(bare) == moved  # nothing landed on the moved branch


def _webhook(ws_id: int, number: int, merged: bool) -> int:
    payload = {
        "action": "closed",
        "pull_request": {"number": number, "state": "closed", "merged": merged},
    }
    body = json.dumps(payload).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return (
        Client()
        .post(
            f"/api/v1/forges/{ws_id}/webhook/",
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=f"sha256={digest}",
            HTTP_X_GITHUB_EVENT="pull_request",
        )
        .status_code
    )


@pytest.mark.parametrize("merged", [True, False])
def test_it_opens_a_pull_request_and_settles_it_from_the_webhook(
    celery_worker_process: Any,
    served: Any,
    bot: Any,
    api_as: Any,
    admin_user: Any,
    tmp_path: Path,
    monkeypatch: Any,
    merged: bool,
) -> None:
    bare, url = served
    base = remote_head(bare)
    token_file = tmp_path / "forge-token"
    token_file.write_text("e2e-forge-token\n")
    monkeypatch.setenv("E2E_HOOK_SECRET", SECRET)
    with forge_server("github") as (api, forge):
        ws = _register(
            api_as,
            admin_user,
            url,
            landing="pull_request",
            forge="github",
            forge_api=api,
            forge_repo="acme/app",
            credentials_env=f"file:{token_file}",
            webhook_secret_env="E2E_HOOK_SECRET",
        )
        pk = _submit(bot, _envelope(f"remote-pr-{merged}", FIX))
        waiting = _wait_for(bot, pk, FINAL | {"applying"})
        assert waiting["status"] == "applying", waiting
        for _ in range(200):  # the worker opens the request right after its push
            if forge.statuses:
                break
            time.sleep(0.1)
        assert forge.prs["1"]["body"]["head"] == "selfheal/remote-pr-" + str(merged)
        assert forge.requests[0]["headers"]["Authorization"] == "Bearer e2e-forge-token"
        assert remote_head(bare) == base

        assert _webhook(ws["id"], 1, merged) == 200

    body = _wait_for(bot, pk, FINAL)
    assert body["status"] == ("applied" if merged else "rejected"), body
