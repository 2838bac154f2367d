"""Recovery at worker (and server) start: finish or undo whatever a crash left in flight."""

from __future__ import annotations

import logging

from django.utils import timezone

from ..actions import record_event, transition
from ..models import ApplyJournal, JournalState, Modification, ModificationStatus, WorkspaceLock
from . import landing
from .lock import WorkspaceBusy, held_by_live_worker, holder_is_dead, workspace_lock

log = logging.getLogger(__name__)
S = ModificationStatus


def _abandoned(journal: ApplyJournal) -> bool:
    lock = WorkspaceLock.objects.filter(workspace_id=journal.workspace_id).first()
    if lock is None or lock.expires_at < timezone.now():
        return True
    return holder_is_dead(lock.holder)


def recover_in_flight() -> list[tuple[int, str]]:
    """Resolve every in-flight journal whose worker is gone. Returns [(journal id, state)]."""
    done: list[tuple[int, str]] = []
    for journal in ApplyJournal.objects.in_flight().select_related("workspace", "modification"):
        if not _abandoned(journal):
            continue
        interrupted_at = journal.step
        try:
            with workspace_lock(journal.workspace):
                state = landing.resolve(journal, journal.workspace)
        except WorkspaceBusy:
            continue
        done.append((journal.pk, state))
        record_event(
            "apply.recovered",
            "system",
            workspace_id=journal.workspace_id,
            modification_id=journal.modification_id,
            reason=f"{journal.operation} interrupted at {interrupted_at}; {state}",
            data={"journal_id": journal.pk, "state": state, "operation": journal.operation},
        )
        _settle_modification(journal, state)
    # Remote workspaces keep no journal: the remote's ref tells (healing/remote/).
    from ..remote.actions import recover_remote

    recover_remote()
    # A worker may also die after claiming `applying` but before its first journal row.
    for mod in Modification.objects.filter(status=S.APPLYING, workspace__remote_url="").exclude(
        journals__state=JournalState.IN_FLIGHT
    ):
        last = mod.journals.filter(operation="apply").order_by("-created_at", "-id").first()
        if last is not None and last.state == JournalState.DONE:
            transition(
                mod,
                S.APPLIED,
                "system",
                "recovered: the apply had landed",
                applied_commit=last.new_commit,
            )
        elif last is None and not held_by_live_worker(mod.workspace_id):
            transition(
                mod, S.FAILED, "system", "recovered: the worker died before changing anything"
            )
    # Likewise a rollback that landed (journal done) whose worker died before the transition.
    for mod in Modification.objects.filter(status__in=(S.APPLIED, S.FAILED)).exclude(
        journals__state=JournalState.IN_FLIGHT
    ):
        last = mod.journals.order_by("-created_at", "-id").first()
        if last is not None and last.operation == "rollback" and last.state == JournalState.DONE:
            transition(
                mod,
                S.ROLLED_BACK,
                "system",
                "recovered: the rollback had landed",
                rollback_count=mod.rollback_count + 1,
                data={"commit": last.new_commit, "recovered": True},
            )
    return done


def _settle_modification(journal: ApplyJournal, state: str) -> None:
    mod = journal.modification
    if mod is None:
        return
    mod.refresh_from_db()
    if journal.operation == "apply" and mod.status == S.APPLYING:
        if state == JournalState.DONE:
            transition(
                mod,
                S.APPLIED,
                "system",
                "recovered: apply finished after a crash",
                applied_commit=journal.new_commit,
            )
        else:
            transition(mod, S.FAILED, "system", f"recovered: apply interrupted and {state}")
    elif journal.operation == "rollback" and mod.status == S.APPLIED and state == JournalState.DONE:
        transition(
            mod,
            S.ROLLED_BACK,
            "system",
            "recovered: rollback finished after a crash",
            rollback_count=mod.rollback_count + 1,
        )
