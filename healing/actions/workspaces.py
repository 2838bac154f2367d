from __future__ import annotations

import subprocess
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from ..models import Workspace
from .audit import record_event


def current_branch(path: str) -> str:
    out = subprocess.run(
        ["git", "-C", path, "rev-parse", "--abbrev-ref", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() != "HEAD" else "main"


@transaction.atomic
def do_register_workspace(
    user: User | None, *, name: str, path: str, branch: str | None = None, **fields: Any
) -> Workspace:
    """Validate (the path must be a git work tree) and store a workspace. Raises ValidationError."""
    workspace = Workspace(name=name, path=path, branch=branch or "main", **fields)
    workspace.full_clean(exclude=["branch"])
    if branch is None:
        workspace.branch = current_branch(path)
    workspace.save()
    record_event(
        "workspace.register",
        user if user is not None else "system",
        workspace_id=workspace.pk,
        data={"name": name, "path": path, "branch": workspace.branch},
    )
    return workspace
