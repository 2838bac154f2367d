from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from healing.models import ApiToken, Workspace, hash_key
from healing.roles import Role, has_role

pytestmark = pytest.mark.django_db


def _call(*args: str, **kwargs: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **kwargs)
    return out.getvalue()


def test_it_creates_the_admin_once_and_prints_the_generated_password_once(monkeypatch: Any) -> None:
    monkeypatch.delenv("SELFHEAL_ADMIN_PASSWORD", raising=False)
    first = _call("ensure_admin")
    password = first.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password)
    assert has_role(admin, Role.ADMIN)
    second = _call("ensure_admin")
    assert password not in second
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_it_takes_the_admin_password_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("SELFHEAL_ADMIN_PASSWORD", "chosen-pw-123")
    out = _call("ensure_admin")
    assert "chosen-pw-123" not in out
    assert get_user_model().objects.get(username="admin").check_password("chosen-pw-123")


def test_it_prints_the_api_token_as_the_last_line() -> None:
    out = _call("create_api_user", "bot-1", role="agent")
    token = out.strip().splitlines()[-1]
    assert ApiToken.objects.get(key_hash=hash_key(token)).user.username == "bot-1"
    assert has_role(ApiToken.objects.get(key_hash=hash_key(token)).user, Role.AGENT)
    # Idempotent: same user, its key kept (only its hash is stored, so it is not printed again).
    assert _call("create_api_user", "bot-1", role="agent").strip() == ""
    assert ApiToken.objects.live().get(user__username="bot-1").key_hash == hash_key(token)


def test_it_registers_a_git_work_tree_as_a_workspace(git_repo: Path) -> None:
    out = _call("add_workspace", "svc", str(git_repo), test_command="python -m pytest -q")
    workspace = Workspace.objects.get(name="svc")
    assert "svc" in out
    assert workspace.branch == "main"
    assert workspace.is_protected(".git/config")
    assert workspace.is_protected(".github/workflows/ci.yml")
    assert not workspace.is_protected("app.py")


@pytest.mark.parametrize("kind", ["missing", "not_git", "subdir"])
def test_it_refuses_a_path_that_is_not_a_git_work_tree_root(
    tmp_path: Path, git_repo: Path, kind: str
) -> None:
    path = {
        "missing": tmp_path / "nope",
        "not_git": tmp_path,
        "subdir": git_repo / "sub",
    }[kind]
    if kind == "subdir":
        path.mkdir()
    with pytest.raises(CommandError):
        _call("add_workspace", "bad", str(path))
    assert not Workspace.objects.filter(name="bad").exists()


def test_it_seeds_the_demo_workspace_once(settings: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SELFHEAL_VAR_DIR", str(tmp_path))
    _call("seed_demo")
    demo = Workspace.objects.get(name="demo")
    assert demo.is_demo
    assert (Path(demo.path) / "stats.py").exists()
    assert demo.isolation_level in {"full", "partial"}
    _call("seed_demo")
    assert Workspace.objects.filter(name="demo").count() == 1
