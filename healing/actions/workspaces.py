from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from ..apply.gitops import GitError, git
from ..models import Workspace
from .audit import record_event


def current_branch(path: str) -> str:
    try:
        branch = git(path, "rev-parse", "--abbrev-ref", "HEAD", timeout=10).decode().strip()
    except GitError:
        return "main"
    return branch if branch != "HEAD" else "main"


@transaction.atomic
def do_register_workspace(
    user: User | None,
    *,
    name: str,
    path: str = "",
    branch: str | None = None,
    **fields: Any,
) -> Workspace:
    """Validate (a git work tree, or a remote URL without credentials in it: exactly one) and
    store a workspace. Raises ValidationError."""
    workspace = Workspace(name=name, path=path, branch=branch or "main", **fields)
    workspace.full_clean(exclude=["branch"])
    if branch is None and path:
        workspace.branch = current_branch(path)
    workspace.save()
    where = (
        {"remote_url": workspace.remote_url, "landing": workspace.landing}
        if workspace.is_remote
        else {"path": path}
    )
    record_event(
        "workspace.register",
        user if user is not None else "system",
        workspace_id=workspace.pk,
        data={"name": name, "branch": workspace.branch, **where},
    )
    return workspace
