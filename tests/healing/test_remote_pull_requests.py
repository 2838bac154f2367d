"""pull_request landing against a local server speaking each forge's API, and the signed
webhooks that settle the patch: merged → applied, closed → rejected; beat's poll as fallback."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from healing.apply.actions import do_apply, do_rollback
from healing.apply.tasks import verify_application
from healing.models import AuditEvent, RemoteLanding, SandboxRun, Workspace
from healing.remote.actions import do_poll_pull_requests
from tests import factories
from tests.apply_helpers import approved_modification, make_repo
from tests.remote_helpers import (
    bare_remote,
    forge_server,
    git_daemon,
    merge_on_forge,
    move_remote,
    remote_head,
)

pytestmark = pytest.mark.django_db

TOKEN = "forge-token-abcdef123456"  # noqa: S105 - a test token
SECRET = "webhook-secret-xyz"  # noqa: S105

AUTH = {
    "github": ("Authorization", f"Bearer {TOKEN}"),
    "gitlab": ("Private-Token", TOKEN),
    "gitea": ("Authorization", f"token {TOKEN}"),
}
FAILURE = {"github": "failure", "gitlab": "failed", "gitea": "failure"}
PR_PATH = {
    "github": "/repos/acme/app/pulls",
    "gitlab": "/api/v4/projects/acme%2Fapp/merge_requests",
    "gitea": "/api/v1/repos/acme/app/pulls",
}


@pytest.fixture(params=["github", "gitlab", "gitea"])
def setup(request: Any, tmp_path: Path, settings: Any, monkeypatch: Any) -> Any:
    kind = request.param
    settings.SELFHEAL_MIRRORS = tmp_path / "var" / "mirrors"
    monkeypatch.setenv("FORGE_TOKEN", TOKEN)
    monkeypatch.setenv("HOOK_SECRET_R", SECRET)
    bare = bare_remote(tmp_path / "served", make_repo(tmp_path))
    with git_daemon(tmp_path / "served") as url, forge_server(kind) as (api, forge):
        ws = Workspace.objects.create(
            name="r",
            remote_url=f"{url}repo.git",
            landing="pull_request",
            credentials_env="FORGE_TOKEN",
            forge=kind,
            forge_api=api,
            forge_repo="acme/app",
            webhook_secret_env="HOOK_SECRET_R",
            isolation_level="partial",
        )
        yield kind, bare, ws, forge


def _signed(kind: str, payload: dict, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if kind == "github":
        return body, {
            "HTTP_X_HUB_SIGNATURE_256": f"sha256={digest}",
            "HTTP_X_GITHUB_EVENT": "pull_request",
        }
    if kind == "gitea":
        return body, {"HTTP_X_GITEA_SIGNATURE": digest}
    return body, {"HTTP_X_GITLAB_TOKEN": secret, "HTTP_X_GITLAB_EVENT": "Merge Request Hook"}


def _event(kind: str, number: str, state: str, merge_commit: str | None = None) -> dict:
    if kind == "gitlab":
        return {
            "object_kind": "merge_request",
            "object_attributes": {
                "iid": int(number),
                "state": state,
                "merge_commit_sha": merge_commit,
            },
        }
    return {
        "action": "closed",
        "pull_request": {
            "number": int(number),
            "state": "closed",
            "merged": state == "merged",
            "merge_commit_sha": merge_commit,
        },
    }


def _post(ws: Workspace, body: bytes, headers: dict[str, str]) -> Any:
    return Client().post(
        f"/api/v1/forges/{ws.pk}/webhook/", body, content_type="application/json", **headers
    )


def test_it_opens_a_request_with_the_verdict_and_a_status(setup: Any) -> None:
    kind, bare, ws, forge = setup
    base = remote_head(bare)
    mod = approved_modification(ws, confidence=0.93, safety_rule="logic.low_risk")

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "applying"  # waits for the forge
    assert remote_head(bare) == base  # main untouched
    landing = RemoteLanding.objects.get(modification=mod)
    assert landing.state == "open" and landing.pr_number == "1"
    assert remote_head(bare, f"refs/heads/selfheal/{mod.patch_id}") == landing.new_commit
    opened = next(
        r for r in forge.requests if r["method"] == "POST" and "statuses" not in r["path"]
    )
    assert opened["path"] == PR_PATH[kind]
    header, value = AUTH[kind]
    assert opened["headers"].get(header) == value
    body = opened["body"]
    text = body.get("body") or body.get("description")
    head_field, base_field = (
        ("source_branch", "target_branch") if kind == "gitlab" else ("head", "base")
    )
    assert (body[head_field], body[base_field]) == (f"selfheal/{mod.patch_id}", "main")
    for needle in (f"/patches/{mod.pk}/", "SAFE", "logic.low_risk", "0.93", "Findings", "Sandbox"):
        assert needle in text, needle
    assert forge.statuses and forge.statuses[0]["commit"] == landing.new_commit
    assert forge.statuses[0]["state"] == "success"


def test_it_applies_the_patch_when_the_signed_webhook_says_merged(setup: Any) -> None:
    kind, _, ws, forge = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "merged"))
    response = _post(ws, body, headers)

    assert response.status_code == 200, response.content
    mod.refresh_from_db()
    assert mod.status == "applied"
    assert mod.applied_commit == RemoteLanding.objects.get(modification=mod).new_commit
    # The verdict changed: the forge hears it on the same commit.
    assert [(s["commit"], s["state"]) for s in forge.statuses] == [
        (mod.applied_commit, "success")
    ] * 2
    assert "applied: pull request 1 merged" in forge.statuses[-1]["description"]


def test_it_rejects_the_patch_when_the_request_is_closed_unmerged(setup: Any) -> None:
    kind, _, ws, forge = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "closed"))
    assert _post(ws, body, headers).status_code == 200

    mod.refresh_from_db()
    assert mod.status == "rejected"
    landing = RemoteLanding.objects.get(modification=mod)
    last = forge.statuses[-1]
    assert (last["commit"], last["state"]) == (landing.new_commit, FAILURE[kind])
    assert "rejected" in last["description"]


def test_it_ignores_a_webhook_with_a_forged_signature(setup: Any) -> None:
    kind, _, ws, _ = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "merged"), secret="guessed")
    response = _post(ws, body, headers)

    assert response.status_code == 403
    mod.refresh_from_db()
    assert mod.status == "applying"


def test_it_checks_each_workspace_webhook_against_its_own_secret(
    setup: Any, tmp_path: Path
) -> None:
    """Two workspaces on one forge, each with its own secret (one by env, one by file): a hook
    signed with the other's secret is refused; each one's own is accepted."""
    kind, _, ws, _ = setup
    other_secret = tmp_path / "other-hook-secret"
    other_secret.write_text("the-other-secret-42\n")
    other = Workspace.objects.create(
        name="other",
        remote_url=ws.remote_url,
        landing="pull_request",
        credentials_env="FORGE_TOKEN",
        forge=kind,
        forge_api=ws.forge_api,
        forge_repo="acme/other",
        webhook_secret_env=f"file:{other_secret}",
        isolation_level="partial",
    )
    mod = approved_modification(ws)
    do_apply(mod)
    crossed, crossed_headers = _signed(kind, _event(kind, "1", "merged"), "the-other-secret-42")

    assert _post(ws, crossed, crossed_headers).status_code == 403
    mod.refresh_from_db()
    assert mod.status == "applying"
    # The other workspace's own secret opens its own door (no request of its own: 202)...
    assert _post(other, crossed, crossed_headers).status_code == 202
    # ...and ours is refused there.
    body, headers = _signed(kind, _event(kind, "1", "merged"))
    assert _post(other, body, headers).status_code == 403
    assert _post(ws, body, headers).status_code == 200
    mod.refresh_from_db()
    assert mod.status == "applied"


def test_it_settles_by_polling_when_no_webhook_comes(setup: Any) -> None:
    _, _, ws, forge = setup
    mod = approved_modification(ws)
    do_apply(mod)
    assert do_poll_pull_requests() == 0
    forge.prs["1"]["state"] = "merged"

    assert do_poll_pull_requests() == 1

    mod.refresh_from_db()
    assert mod.status == "applied"


def test_it_shows_a_forge_error_plainly_on_the_patch(setup: Any) -> None:
    _, _, ws, forge = setup
    forge.fail_with = 422
    mod = approved_modification(ws)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "failed"
    event = AuditEvent.objects.filter(modification=mod, kind="remote.error").get()
    assert "HTTP 422" in event.reason and "branch protection" in event.reason
    assert TOKEN not in event.reason


def test_it_posts_the_verdict_as_it_changes_in_push_mode(setup: Any) -> None:
    kind, bare, ws, forge = setup
    ws.landing = "push"
    ws.save(update_fields=["landing"])
    mod = approved_modification(ws)

    do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "applied" and remote_head(bare) == mod.applied_commit
    assert [(s["commit"], s["state"]) for s in forge.statuses] == [(mod.applied_commit, "success")]

    do_rollback(mod, None, "broke prod")

    mod.refresh_from_db()
    assert mod.status == "rolled_back"
    assert [(s["commit"], s["state"]) for s in forge.statuses][1:] == [
        (mod.applied_commit, FAILURE[kind])
    ]
    assert "broke prod" in forge.statuses[-1]["description"]
    assert not any(r["path"].endswith(("pulls", "merge_requests")) for r in forge.requests)


def test_it_opens_a_revert_request_to_roll_back(setup: Any) -> None:
    kind, bare, ws, forge = setup
    mod = approved_modification(ws)
    do_apply(mod)
    # The forge merges (fast-forward) and says so.
    factories.git(bare, "update-ref", "refs/heads/main", f"refs/heads/selfheal/{mod.patch_id}")
    forge.prs["1"]["state"] = "merged"
    do_poll_pull_requests()
    mod.refresh_from_db()

    do_rollback(mod, None, "broke prod")

    revert = RemoteLanding.objects.get(modification=mod, operation="rollback")
    assert revert.state == "open" and revert.pr_number == "2"
    assert revert.target_ref == f"refs/heads/selfheal/revert-{mod.patch_id}"
    body, headers = _signed(kind, _event(kind, "2", "merged"))
    assert _post(ws, body, headers).status_code == 200
    mod.refresh_from_db()
    assert mod.status == "rolled_back"
    last = forge.statuses[-1]
    assert (last["commit"], last["state"]) == (mod.applied_commit, FAILURE[kind])
    assert "rolled back" in last["description"]


def _sends(monkeypatch: Any) -> list[tuple]:
    """What goes to Celery: the actions send by name through healing.queueing, the apply tasks
    through their own reference to it."""
    sent: list[tuple] = []
    monkeypatch.setattr("healing.queueing.send_later", lambda *args: sent.append(args))
    monkeypatch.setattr("healing.apply.tasks.send_later", lambda *args: sent.append(args))
    return sent


def _named(sent: list[tuple], name: str) -> list[tuple]:
    return [
        (getattr(task, "name", task), *args)
        for task, *args in sent
        if getattr(task, "name", task) == name
    ]


def test_it_verifies_the_merge_commit_then_watches_health(
    setup: Any, tmp_path: Path, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """main moved while the request waited, so the forge's merge commit is not the request's
    head: the post-apply tests run on what main got, and the health watch follows."""
    kind, bare, ws, _ = setup
    ws.test_command = "python -m pytest -q -p no:cacheprovider"
    ws.save(update_fields=["test_command"])
    mod = approved_modification(ws)
    do_apply(mod)
    move_remote(bare, tmp_path, "someone else's change\n")
    merged = merge_on_forge(bare, tmp_path, f"selfheal/{mod.patch_id}")
    sent = _sends(monkeypatch)

    body, headers = _signed(kind, _event(kind, "1", "merged", merged))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(ws, body, headers).status_code == 200
    assert _named(sent, "healing.verify_application") == [
        ("healing.verify_application", mod.pk, merged)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert verify_application(mod.pk, merged) == "applied"

    mod.refresh_from_db()
    assert mod.applied_commit == RemoteLanding.objects.get(modification=mod).new_commit != merged
    run = SandboxRun.objects.get(modification=mod, kind="verify")
    assert run.commit == merged and run.failing == [] and run.tests
    assert [s[:2] for s in _named(sent, "healing.watch_application")] == [
        ("healing.watch_application", mod.pk)
    ]


def test_it_opens_a_revert_request_when_the_merged_tree_fails_its_tests(
    setup: Any, tmp_path: Path, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Settled by beat's poll this time: the merge brought in a test that fails with the patch,
    so the verification asks for the patch back the pull_request way, with a revert request."""
    kind, bare, ws, forge = setup
    ws.test_command = "python -m pytest -q -p no:cacheprovider"
    ws.save(update_fields=["test_command"])
    mod = approved_modification(ws)
    do_apply(mod)
    breaking = "from app import sub\n\n\ndef test_sub_was_add():\n    assert sub(2, 2) == 4\n"
    move_remote(bare, tmp_path, breaking, name="test_other.py")
    merged = merge_on_forge(bare, tmp_path, f"selfheal/{mod.patch_id}")
    forge.prs["1"].update(state="merged", merge_commit_sha=merged)
    sent = _sends(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        assert do_poll_pull_requests() == 1
    [(_, pk, commit)] = _named(sent, "healing.verify_application")
    assert (pk, commit) == (mod.pk, merged)

    with django_capture_on_commit_callbacks(execute=True):
        verify_application(pk, commit)

    mod.refresh_from_db()
    assert mod.status == "applied"  # until the revert request is merged
    revert = RemoteLanding.objects.get(modification=mod, operation="rollback")
    assert (revert.state, revert.pr_number) == ("open", "2")
    assert remote_head(bare, revert.target_ref) == revert.new_commit
    assert revert.base_commit == merged
    opened = AuditEvent.objects.get(modification=mod, kind="remote.revert_opened")
    assert "automatic rollback: post-apply tests fail:" in opened.reason
    assert "test_sub_was_add" in opened.reason
    assert _named(sent, "healing.watch_application") == []
