"""Credentials of a remote workspace, over git's smart HTTP behind a token check: they work, and
they never reach the database, the URL, the mirror, an audit event, an error or a sandbox."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core import serializers

from healing.apply.actions import do_apply
from healing.models import AuditEvent, Workspace
from healing.remote import credentials
from healing.remote.mirror import RemoteError, mirror_path, refresh
from tests.apply_helpers import approved_modification, make_repo
from tests.remote_helpers import bare_remote, http_git, remote_head

pytestmark = pytest.mark.django_db

TOKEN = "ghp_s3cret-token-for-tests-0123456789"  # noqa: S105 - a test token


@pytest.fixture
def served(tmp_path: Path, settings: Any, monkeypatch: Any) -> Any:
    settings.SELFHEAL_MIRRORS = tmp_path / "var" / "mirrors"
    bare = bare_remote(tmp_path / "served", make_repo(tmp_path))
    monkeypatch.setenv("REMOTE_TOKEN", TOKEN)
    with http_git(tmp_path / "served", TOKEN) as (url, recorded):
        yield bare, f"{url}repo.git", recorded


def _everything_stored(ws: Workspace) -> str:
    rows = [*Workspace.objects.all(), *AuditEvent.objects.all()]
    text = serializers.serialize("json", rows)
    config = (
        (mirror_path(ws) / "config").read_text() if (mirror_path(ws) / "config").exists() else ""
    )
    return text + config


def test_it_pushes_with_the_token_from_the_environment(served: Any) -> None:
    bare, url, recorded = served
    ws = Workspace.objects.create(
        name="r", remote_url=url, credentials_env="REMOTE_TOKEN", isolation_level="partial"
    )
    mod = approved_modification(ws)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "applied", mod.status
    assert remote_head(bare) == mod.applied_commit
    assert any(r["method"] == "POST" and "receive-pack" in r["path"] for r in recorded.requests)
    assert all(TOKEN not in r["path"] for r in recorded.requests)
    assert TOKEN not in _everything_stored(ws)


def test_it_is_refused_without_the_token_and_says_so_plainly(served: Any, monkeypatch: Any) -> None:
    _, url, _ = served
    ws = Workspace.objects.create(name="r", remote_url=url, isolation_level="partial")
    with pytest.raises(RemoteError) as err:
        refresh(ws)
    assert (
        "401" in str(err.value)
        or "Authentication" in str(err.value)
        or "could not read" in str(err.value)
    )


def test_it_scrubs_the_token_from_a_git_error(served: Any, tmp_path: Path) -> None:
    """An attacker-controlled remote that echoes what it is sent must not put the token in an
    error we store: here git reports a URL carrying the basic auth value."""
    _, url, _ = served
    ws = Workspace.objects.create(
        name="r", remote_url=url, credentials_env="REMOTE_TOKEN", isolation_level="partial"
    )
    with credentials.git_env(ws) as env:
        header = env["GIT_CONFIG_VALUE_0"]
    message = credentials.scrub(f"fatal: {header} and {TOKEN}", ws)
    assert TOKEN not in message and header.split()[-1] not in message


def test_it_refuses_a_url_that_carries_the_token(api_as: Any, admin_user: Any, served: Any) -> None:
    _, url, _ = served
    leaky = url.replace("http://", f"http://x-access-token:{TOKEN}@")
    response = api_as(admin_user).post(
        "/api/v1/workspaces/", {"name": "leaky", "remote_url": leaky}, format="json"
    )
    assert response.status_code == 400, response.content
    assert TOKEN not in json.dumps(AuditEvent.objects.values_list("data", flat=True)[::1])
    assert not Workspace.objects.filter(name="leaky").exists()


def test_it_keeps_the_token_out_of_the_sandbox(served: Any) -> None:
    """The test command of the workspace looks for the token in its environment and in every
    file it can read of the mirror; it finds nothing."""
    from healing.sandbox import run_command

    _, url, _ = served
    ws = Workspace.objects.create(
        name="r", remote_url=url, credentials_env="REMOTE_TOKEN", isolation_level="partial"
    )
    probe = (
        "import os, pathlib, sys\n"
        f"t = {TOKEN!r}\n"
        "hits = [k for k, v in os.environ.items() if t in v]\n"
        "for p in pathlib.Path('.').rglob('*'):\n"
        "    try:\n"
        "        hits += [str(p)] if p.is_file() and t.encode() in p.read_bytes() else []\n"
        "    except OSError:\n"
        "        pass\n"
        "print('HITS', hits)\n"
    )
    result = run_command(ws, ["python", "-c", probe])
    assert "HITS []" in result.output_tail, result.output_tail
    assert (
        TOKEN
        not in subprocess.run(
            ["cat", str(mirror_path(ws) / "config")], capture_output=True, text=True, check=True
        ).stdout
    )
