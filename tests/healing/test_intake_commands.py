"""manage.py submit_patch, add_workspace and create_api_user, run as a person at a terminal would."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from healing.actions.accounts import ExternalSignIn, do_external_sign_in
from healing.models import ApiToken, AuditEvent, Modification, Workspace, hash_key
from healing.roles import Role, has_role
from tests import factories
from tests.intake_helpers import FIX_DIFF

pytestmark = pytest.mark.django_db


def test_it_submits_a_diff_file_from_the_terminal(workspace: Any, tmp_path: Path) -> None:
    patch = tmp_path / "fix.diff"
    patch.write_text(FIX_DIFF)
    out = io.StringIO()
    call_command(
        "submit_patch",
        str(patch),
        "--workspace",
        "demo",
        "--error-type",
        "runtime",
        "--logits",
        "2.0",
        "0.5",
        stdout=out,
        stderr=io.StringIO(),
    )
    patch_id, url = out.getvalue().split()
    mod = Modification.objects.get(patch_id=patch_id)
    assert url == mod.get_api_url()
    assert mod.source.startswith("cli:") and mod.claimed_error_type == "runtime"
    assert mod.envelope["confidence_scoring"] == {"logits": [2.0, 0.5]}
    assert mod.language == "python"


def test_it_explains_what_is_wrong_with_a_submission(workspace: Any, tmp_path: Path) -> None:
    patch = tmp_path / "fix.diff"
    patch.write_text("just words\n")
    with pytest.raises(CommandError, match="file headers"):
        call_command("submit_patch", str(patch), "--workspace", "demo")
    patch.write_text(FIX_DIFF)
    with pytest.raises(CommandError, match="No active workspace named 'elsewhere'"):
        call_command("submit_patch", str(patch), "--workspace", "elsewhere")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("submit_patch", str(tmp_path / "missing.diff"), "--workspace", "demo")
    assert not Modification.objects.exists()


def test_it_registers_a_git_work_tree_as_a_workspace(tmp_path: Path) -> None:
    repo = factories.make_git_repo(tmp_path / "proj")
    factories.git(repo, "checkout", "-q", "-b", "develop")
    out = io.StringIO()
    call_command(
        "add_workspace",
        "proj",
        str(repo),
        "--test-command",
        "python -m pytest -q",
        "--language",
        "python",
        "--language",
        "php",
        stdout=out,
    )
    ws = Workspace.objects.get(name="proj")
    assert (ws.branch, ws.languages, ws.path) == ("develop", ["python", "php"], str(repo.resolve()))
    assert ws.is_protected(".git/config") and ws.is_protected(".github/workflows/ci.yml")
    assert AuditEvent.objects.filter(kind="workspace.register", workspace=ws).exists()
    assert "guards" in out.getvalue()


def test_it_refuses_a_path_that_is_not_a_git_work_tree(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a git work tree"):
        call_command("add_workspace", "plain", str(tmp_path))
    repo = factories.make_git_repo(tmp_path / "proj", {"sub/x.py": "x = 1\n"})
    with pytest.raises(CommandError, match="register its root"):
        call_command("add_workspace", "sub", str(repo / "sub"))
    assert not Workspace.objects.exists()


def test_it_creates_an_api_user_and_prints_the_token_last(db: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_user", "bot-1", "--role", "agent", stdout=out, stderr=err)
    token = out.getvalue().strip().splitlines()[-1]
    user = ApiToken.objects.get(key_hash=hash_key(token)).user
    assert user.username == "bot-1" and has_role(user, "agent") and not user.has_usable_password()
    out2 = io.StringIO()
    call_command("create_api_user", "bot-1", "--role", "agent", stdout=out2, stderr=io.StringIO())
    # Same user, same key: it is kept but not printed again (only its hash is stored).
    assert out2.getvalue().strip() == ""
    assert ApiToken.objects.live().get(user=user).key_hash == hash_key(token)


@pytest.mark.parametrize("person", ["oidc", "local"])
def test_it_refuses_to_make_a_persons_account_an_api_user(db: Any, person: str) -> None:
    # A person already holds the name: the command must not hand their account a key.
    if person == "oidc":
        sign_in = ExternalSignIn(
            issuer="https://id.example.test", subject="sub-9", username="dana",
            email="dana@example.test", groups=("dev",), roles=frozenset({Role.REVIEWER}),
        )  # fmt: skip
        user = do_external_sign_in(sign_in)
    else:
        user = factories.make_user("dana", role="reviewer")
    events = AuditEvent.objects.count()
    out = io.StringIO()
    with pytest.raises(CommandError, match="dana"):
        call_command("create_api_user", "dana", "--role", "agent", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    assert not ApiToken.objects.filter(user=user).exists()
    assert not has_role(get_user_model().objects.get(pk=user.pk), "agent")
    assert AuditEvent.objects.count() == events


def test_it_records_the_creation_of_an_api_user(db: Any) -> None:
    call_command("create_api_user", "bot-3", "--role", "agent", stdout=io.StringIO(),
                 stderr=io.StringIO())  # fmt: skip
    event = AuditEvent.objects.get(kind="account.created")
    assert event.data == {"user": "bot-3", "role": "agent"}


def test_it_creates_an_api_user_when_its_role_group_is_gone(db: Any) -> None:
    # The groups come with a data migration; a flushed or hand-edited database may lack one.
    from django.contrib.auth.models import Group

    Group.objects.filter(name="agent").delete()
    call_command("create_api_user", "bot-4", "--role", "agent", stdout=io.StringIO(),
                 stderr=io.StringIO())  # fmt: skip
    assert has_role(get_user_model().objects.get(username="bot-4"), "agent")


def test_it_refuses_an_unknown_role(db: Any) -> None:
    with pytest.raises(CommandError):
        call_command("create_api_user", "bot-2", "--role", "king")


def test_it_prints_only_the_token_on_stdout_for_scripts(tmp_path: Path) -> None:
    """`TOKEN=$(manage.py create_api_user …)` must capture the token alone."""
    root = Path(__file__).resolve().parents[2]
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PATH": "/usr/bin:/bin",
        "SELFHEAL_VAR_DIR": str(tmp_path),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_user", "ci-bot", "--role", "agent"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert len(result.stdout.strip()) == 40 and "\n" not in result.stdout.strip()
