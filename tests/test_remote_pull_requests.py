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
from healing.models import AuditEvent, RemoteLanding, Workspace
from healing.remote.actions import do_poll_pull_requests
from tests import factories
from tests.apply_helpers import approved_modification, make_repo
from tests.remote_helpers import bare_remote, forge_server, git_daemon, remote_head

pytestmark = pytest.mark.django_db

TOKEN = "forge-token-abcdef123456"  # noqa: S105 - a test token
SECRET = "webhook-secret-xyz"  # noqa: S105

AUTH = {
    "github": ("Authorization", f"Bearer {TOKEN}"),
    "gitlab": ("Private-Token", TOKEN),
    "gitea": ("Authorization", f"token {TOKEN}"),
}
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
    monkeypatch.setenv("SELFHEAL_FORGE_WEBHOOK_SECRET", SECRET)
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


def _event(kind: str, number: str, state: str) -> dict:
    if kind == "gitlab":
        return {
            "object_kind": "merge_request",
            "object_attributes": {"iid": int(number), "state": state},
        }
    return {
        "action": "closed",
        "pull_request": {"number": int(number), "state": "closed", "merged": state == "merged"},
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
    kind, _, ws, _ = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "merged"))
    response = _post(ws, body, headers)

    assert response.status_code == 200, response.content
    mod.refresh_from_db()
    assert mod.status == "applied"
    assert mod.applied_commit == RemoteLanding.objects.get(modification=mod).new_commit


def test_it_rejects_the_patch_when_the_request_is_closed_unmerged(setup: Any) -> None:
    kind, _, ws, _ = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "closed"))
    assert _post(ws, body, headers).status_code == 200

    mod.refresh_from_db()
    assert mod.status == "rejected"


def test_it_ignores_a_webhook_with_a_forged_signature(setup: Any) -> None:
    kind, _, ws, _ = setup
    mod = approved_modification(ws)
    do_apply(mod)

    body, headers = _signed(kind, _event(kind, "1", "merged"), secret="guessed")
    response = _post(ws, body, headers)

    assert response.status_code == 403
    mod.refresh_from_db()
    assert mod.status == "applying"


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
