"""The commits the apply makes: who authors a patch's commit, its message (with the trailer that
names the modification), and the commit that takes a patch back out. Shared by the local apply
and the remote one (healing/remote/)."""

from __future__ import annotations

from typing import Any

from ..actions.audit import Actor
from ..models import AuditEvent, Backup, Modification, ModificationStatus
from . import backups, gitops

S = ModificationStatus
TRAILER = "Selfheal-Modification"


class ApplyRefused(Exception):
    """The change cannot be landed (dirty files, detached HEAD, a diff that no longer applies)."""


def author(mod: Modification) -> gitops.Author:
    """The approving person if there is one, else the agent that submitted the patch."""
    event = (
        AuditEvent.objects.filter(modification=mod, to_state=S.APPROVED, actor__isnull=False)
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )
    user = event.actor if event is not None else mod.submitted_by
    if user is None:
        return gitops.Author("Selfheal", "selfheal@localhost")
    return gitops.Author(
        user.get_full_name() or user.get_username(),
        user.email or f"{user.get_username()}@selfheal.invalid",
    )


def message(mod: Modification) -> str:
    summary = (
        mod.envelope.get("description")
        or mod.envelope.get("summary")
        or f"Apply patch {mod.patch_id}"
    )
    summary = (
        str(summary).strip().splitlines()[0][:72]
        if str(summary).strip()
        else f"Apply patch {mod.patch_id}"
    )
    return f"{summary}\n\nPatch {mod.patch_id} ({mod.error_type or 'unclassified'}, {mod.safety_level or 'unrated'}).\n\n{TRAILER}: {mod.pk}\n"


def rollback_commit(
    mod: Modification, repo: Any, base: str, message: str, actor: Actor
) -> tuple[str, str]:
    """The commit that takes `mod` back out (objects only), and how: a revert of its commit if
    that still applies on `base`, else the backup after its checksum check."""
    author = gitops.Author("Selfheal", "selfheal@localhost")
    try:
        parent = gitops.rev(repo, f"{mod.applied_commit}^")
        diff = gitops.git(repo, "diff", "--binary", parent, mod.applied_commit).decode()
        return gitops.commit_from_diff(repo, base, diff, message, author, reverse=True), "revert"
    except gitops.GitError:
        pass
    backup = Backup.objects.live().filter(modification=mod).order_by("-created_at").first()
    if backup is None:
        raise ApplyRefused("the revert does not apply and there is no backup")
    try:
        files = backups.contents(backup)
    except backups.BackupCorrupt as exc:
        backups.refuse(backup, exc, actor)
        raise
    return gitops.commit_from_files(repo, base, files, message, author), "backup"
