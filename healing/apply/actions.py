"""Named actions of apply, rollback and backup restore. Views and tasks call only these."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import breakers, tunables
from ..actions import record_event, transition
from ..actions.audit import Actor
from ..actions.unblock import do_block
from ..models import Backup, Modification, ModificationStatus
from ..models.modification import InvalidTransition
from . import backups, gitops, landing
from .commits import ApplyRefused, author, message, rollback_commit
from .lock import workspace_lock

log = logging.getLogger(__name__)
S = ModificationStatus


def _check_branch(workspace: Any) -> str:
    repo = workspace.repo_path
    if gitops.current_branch_ref(repo) != gitops.branch_ref(workspace.branch):
        raise ApplyRefused(
            f"{workspace.name} is not on its branch {workspace.branch} (HEAD is detached or elsewhere)"
        )
    return gitops.rev(repo, "HEAD")


def land_commit(
    workspace: Any, operation: str, base: str, build: Any, *, holder: str, modification: Any = None
) -> str:
    """Journal, build the commit with `build()`, and land it. Returns the new commit."""
    journal = landing.start(workspace, operation, base, holder, modification)
    try:
        landing.step(journal, "build_commit")
        new_commit = build()
        files = gitops.changed_paths(workspace.repo_path, base, new_commit)
        dirty = gitops.dirty_paths(workspace.repo_path, files)
        if dirty:
            raise ApplyRefused(
                f"uncommitted changes in {', '.join(dirty[:5])}; refusing to overwrite them"
            )
    except Exception:
        landing.undo(journal, workspace)
        raise
    landing.land(journal, workspace, new_commit, modification=modification)
    return new_commit


def do_apply(mod: Modification, actor: Actor = None) -> Modification:
    """approved → applying → applied | failed (or blocked / back to validating). Returns the mod."""
    workspace = mod.workspace
    preflight = breakers.run_preflight(mod, stage="apply")
    if not preflight.ok:
        reasons = "; ".join(c.reason or c.name for c in preflight.blocking)
        return do_block(
            mod,
            actor,
            f"pre-flight at apply: {reasons}",
            preflight.blocked_by,
            expected_from=S.APPROVED,
            block_reason=reasons,
        )
    if mod.review_digest() != mod.approved_digest:
        return _changed_since_approval(mod, actor)
    if workspace.is_remote:  # fetch, build in the mirror, push (healing/remote/)
        from ..remote.actions import do_apply_remote

        return do_apply_remote(mod, actor)
    head = workspace.head_commit()
    if not mod.base_commit or head != mod.base_commit:
        return _send_back_to_validation(mod, actor, head)
    with workspace_lock(workspace) as holder:
        transition(
            mod,
            S.APPLYING,
            actor,
            "applying",
            expected_from=S.APPROVED,
        )
        try:
            base = _check_branch(workspace)
            if base != mod.base_commit:
                raise ApplyRefused(f"HEAD moved to {base[:10]} while the patch waited")
            new = land_commit(
                workspace,
                "apply",
                base,
                lambda: gitops.commit_from_diff(
                    workspace.repo_path, base, mod.diff, message(mod), author(mod)
                ),
                holder=holder,
                modification=mod,
            )
        except Exception as exc:  # noqa: BLE001 - any failure to land is recorded, nothing half-applied
            log.warning("apply of %s failed: %s", mod.patch_id, exc)
            transition(
                mod, S.FAILED, actor, f"apply failed: {exc}", data={"error": str(exc)[:2000]}
            )
            breakers.record_outcome(mod, success=False, stage="apply")
            return mod
        transition(mod, S.APPLIED, actor, f"applied as {new[:10]}", applied_commit=new)
    breakers.note_application(mod)
    breakers.record_outcome(mod, success=True, stage="apply")
    return mod


@transaction.atomic
def _changed_since_approval(mod: Modification, actor: Actor) -> Modification:
    """What would land is not what was approved: checked and reviewed again from the start."""
    record_event(
        "modification.digest_mismatch",
        actor,
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        reason="the patch changed after it was approved; refused to apply it",
        data={"approved": mod.approved_digest, "now": mod.review_digest()},
    )
    return _send_back_to_validation(
        mod, actor, reason="changed since it was approved: it needs a new review"
    )


def _send_back_to_validation(
    mod: Modification, actor: Actor, head: str = "", reason: str = ""
) -> Modification:
    reason = (
        reason
        or f"stale: HEAD is {head[:10]}, the patch was checked against {mod.base_commit[:10] or 'nothing'}"
    )
    with transaction.atomic():
        transition(mod, S.VALIDATING, actor, reason, expected_from=S.APPROVED)
        handed_over_at = mod.status_changed_at.isoformat()
        transaction.on_commit(lambda: _revalidate(mod.pk, handed_over_at))
    return mod


def _revalidate(modification_id: int, handed_over_at: str) -> None:
    from ..queueing import send_later

    # The transition time lets exactly one delivery take the patch (it is in validating already).
    send_later("healing.process_modification", modification_id, handed_over_at)


def do_rollback(
    mod: Modification, actor: Actor, reason: str, *, automatic: bool = False
) -> Modification:
    """Take an applied patch back out: `git revert` of its commit if that still applies, else the
    backup after its checksum check (a corrupt backup is refused and reported). applied → rolled_back."""
    reason = (reason or "").strip() or "rolled back"
    if mod.status not in (S.APPLIED, S.FAILED) or not mod.applied_commit:
        raise InvalidTransition(
            mod.pk, mod.status, S.ROLLED_BACK, "only an applied patch can be rolled back"
        )
    held = _automatic_rollback_held(mod) if automatic else None
    if held:
        record_event(
            "modification.rollback_suppressed",
            actor,
            workspace_id=mod.workspace_id,
            modification_id=mod.pk,
            reason=f"{reason} — not rolled back: {held}",
        )
        return mod
    workspace = mod.workspace
    if workspace.is_remote:  # a revert pushed the way the patch landed (healing/remote/)
        from ..remote.actions import do_rollback_remote

        return do_rollback_remote(mod, actor, reason)
    repo = workspace.repo_path
    with workspace_lock(workspace) as holder:
        base = _check_branch(workspace)
        message = f"Revert patch {mod.patch_id}: {reason[:60]}\n\nSelfheal-Rollback: {mod.pk}\n"
        new_commit, method = rollback_commit(mod, repo, base, message, actor)
        new = land_commit(
            workspace, "rollback", base, lambda: new_commit, holder=holder, modification=mod
        )
        transition(
            mod,
            S.ROLLED_BACK,
            actor,
            reason,
            rollback_count=mod.rollback_count + 1,
            data={"method": method, "commit": new, "automatic": automatic},
        )
    breakers.record_outcome(mod, success=True, stage="rollback")
    return mod


def _automatic_rollback_held(mod: Modification) -> str | None:
    """Why an automatic rollback must not happen now, or None. The cap stops a flapping signal
    from looping; an emergency stop halts every change the engine would make by itself,
    rollbacks too — an operator rolls back by hand."""
    from ..models import EngineState

    cap = tunables.get("apply.max_auto_rollbacks", mod.workspace)
    if mod.rollback_count >= cap:
        return f"the cap of {cap} automatic rollback(s) is reached"
    if EngineState.objects.current().is_emergency_stopped:
        return "an emergency stop is in force; roll it back by hand if it must go"
    return None


def do_restore_backup(backup: Backup, actor: Actor, reason: str = "") -> str:
    """Put the backed-up files back as a new commit, after checking their checksums."""
    workspace = backup.workspace
    try:
        files = backups.contents(backup)
    except backups.BackupCorrupt as exc:
        backups.refuse(backup, exc, actor)
        raise
    with workspace_lock(workspace) as holder:
        base = _check_branch(workspace)
        message = f"Restore backup {backup.pk}\n\n{reason}\n\nSelfheal-Backup: {backup.pk}\n"
        new = land_commit(
            workspace,
            "restore",
            base,
            lambda: gitops.commit_from_files(
                workspace.repo_path,
                base,
                files,
                message,
                gitops.Author("Selfheal", "selfheal@localhost"),
            ),
            holder=holder,
            modification=backup.modification,
        )
        backup.restored_at = timezone.now()
        backup.save(update_fields=["restored_at"])
        record_event(
            "backup.restore",
            actor,
            workspace_id=workspace.pk,
            modification_id=backup.modification_id,
            reason=reason,
            data={"backup_id": backup.pk, "commit": new},
        )
        mod = backup.modification
        if mod is not None and mod.status == S.APPLIED:
            transition(
                mod,
                S.ROLLED_BACK,
                actor,
                f"backup {backup.pk} restored",
                rollback_count=mod.rollback_count + 1,
                data={"method": "backup", "commit": new},
            )
    return new
