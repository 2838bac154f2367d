"""Plain factories for bulk test data. No magic: functions that create rows with sane defaults."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User

from healing.actions.tokens import do_create_token
from healing.models import ApiToken, Modification, Workspace

_seq = itertools.count(1)


def make_user(
    username: str | None = None, role: str | None = None, password: str = "pw-for-tests-1"
) -> User:
    user = User.objects.create_user(username=username or f"user{next(_seq)}", password=password)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


# Keys this process issued, by hash: only the hash is stored, so the same user gets the same key
# back (as tests call api_as(user) many times) only while its token lives.
_issued: dict[str, str] = {}


def token_for(user: User) -> str:
    for key_hash in ApiToken.objects.live().filter(user=user).values_list("key_hash", flat=True):
        if key_hash in _issued:
            return _issued[key_hash]
    token, key = do_create_token("system", user, name="tests")
    _issued[token.key_hash] = key
    return key


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
    ).stdout


def make_git_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A real git repository with one commit."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {"app.py": "def add(a, b):\n    return a + b\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test")
    git(path, "config", "user.email", "test@example.invalid")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def make_workspace(path: Path, name: str | None = None, **fields: Any) -> Workspace:
    if not (path / ".git").exists():
        make_git_repo(path)
    fields.setdefault("isolation_level", "partial")
    return Workspace.objects.create(
        name=name or f"ws{next(_seq)}", path=str(path), branch="main", **fields
    )


# A row made in one of these states was approved on what it holds (transition() records that).
PAST_APPROVAL = frozenset({"approved", "applying", "applied", "failed", "rolled_back"})


def make_modification(workspace: Workspace, **fields: Any) -> Modification:
    n = next(_seq)
    fields.setdefault("patch_id", f"patch-{n}")
    fields.setdefault("source", "agent:factory")
    fields.setdefault("language", "python")
    fields.setdefault("diff", "")
    mod = Modification(workspace=workspace, **fields)
    if mod.status in PAST_APPROVAL and "approved_digest" not in fields:
        mod.approved_digest = mod.review_digest()  # as the transition to approved records it
    mod.save(force_insert=True)
    return mod


def bulk_modifications(workspace: Workspace, count: int, **fields: Any) -> None:
    start = next(_seq) * 1_000_000
    fields.setdefault("source", "agent:bulk")
    Modification.objects.bulk_create(
        [
            Modification(
                workspace=workspace,
                patch_id=f"bulk-{start + i}",
                language="python",
                diff="",
                **fields,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def bulk_workspaces(
    count: int, patches_each: int = 0, prefix: str | None = None, **fields: Any
) -> list[Workspace]:
    """`count` workspaces (rows only: no repository on disk, which a list page never reads), each
    with `patches_each` patches, a few minutes apart. Isolation levels rotate full/partial/none
    unless given."""
    from datetime import timedelta

    from django.utils import timezone

    start = next(_seq)
    prefix = prefix or f"bulk{start}"
    levels = ["full", "partial", "none"]
    Workspace.objects.bulk_create(
        [
            Workspace(
                name=f"{prefix}-{i:05d}",
                path=f"/srv/repos/{prefix}-{i:05d}",
                **{"isolation_level": levels[i % 3], **fields},
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    created = list(Workspace.objects.filter(name__startswith=f"{prefix}-").order_by("name"))
    if patches_each:
        now = timezone.now()
        Modification.objects.bulk_create(
            [
                Modification(
                    workspace=w,
                    patch_id=f"{w.name}-p{j}",
                    source="agent:bulk",
                    language="python",
                    diff="",
                    created_at=now - timedelta(minutes=j),
                )
                for w in created
                for j in range(patches_each)
            ],
            batch_size=2000,
        )
    return created
