"""manage.py add_workspace NAME --remote URL …, and POST /api/v1/workspaces/ with a remote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from healing.models import AuditEvent, Workspace

pytestmark = pytest.mark.django_db


def test_it_registers_a_remote_with_its_landing_and_forge() -> None:
    call_command(
        "add_workspace",
        "svc",
        "--remote",
        "https://git.example.com/acme/svc.git",
        "--branch",
        "trunk",
        "--landing",
        "pull_request",
        "--credentials-env",
        "SVC_TOKEN",
        "--forge",
        "gitlab",
        "--forge-api",
        "https://git.example.com/api/v4",
        "--forge-repo",
        "acme/svc",
    )
    ws = Workspace.objects.get(name="svc")
    assert (ws.path, ws.remote_url, ws.branch, ws.landing, ws.forge, ws.forge_repo) == (
        "",
        "https://git.example.com/acme/svc.git",
        "trunk",
        "pull_request",
        "gitlab",
        "acme/svc",
    )
    assert ws.credentials_env == "SVC_TOKEN"
    event = AuditEvent.objects.get(kind="workspace.register")
    assert event.data["remote_url"] == ws.remote_url


@pytest.mark.parametrize(
    "args, message",
    [
        (["--remote", "https://tok:secret@git.example.com/a.git"], "credentials"),
        (["--remote", "https://git.example.com/a.git", "--landing", "pull_request"], "forge"),
        (
            ["--remote", "https://git.example.com/a.git", "--credentials-env", "$(id)"],
            "environment",
        ),
        (["--remote", "ftp://git.example.com/a.git"], "git URL"),
        (["--remote", "git@-oProxyCommand:a.git"], "git URL"),  # a host ssh would read as an option
        (["--remote", "ssh://h/a.git", "--credentials-env", "file:/k';touch /tmp/p'"], "letters"),
    ],
)
def test_it_refuses_a_bad_remote_clearly(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("add_workspace", "bad", *args)
    assert not Workspace.objects.exists()


def test_it_refuses_both_a_path_and_a_remote(git_repo: Path) -> None:
    with pytest.raises(CommandError, match="exactly one"):
        call_command("add_workspace", "both", str(git_repo), "--remote", "git://h/x.git")


def test_it_registers_a_remote_over_the_api(api_as: Any, admin_user: Any) -> None:
    response = api_as(admin_user).post(
        "/api/v1/workspaces/",
        {
            "name": "svc",
            "remote_url": "ssh://git@git.example.com/acme/svc.git",
            "landing": "branch",
            "credentials_env": "file:/etc/selfheal/deploy_key",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["remote_url"] == "ssh://git@git.example.com/acme/svc.git"
    assert response.json()["path"] == ""


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"path": "/tmp/x", "remote_url": "git://h/x.git"},  # noqa: S108 - never read
        {"remote_url": "git://h/x.git", "landing": "merge"},
        {"remote_url": "git://h/x.git", "forge": "bitbucket"},
    ],
)
def test_it_answers_400_to_a_bad_remote_over_the_api(
    api_as: Any, admin_user: Any, extra: dict
) -> None:
    response = api_as(admin_user).post(
        "/api/v1/workspaces/", {"name": "svc", **extra}, format="json"
    )
    assert response.status_code == 400, response.content
    assert not Workspace.objects.exists()
