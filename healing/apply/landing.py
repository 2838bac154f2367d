"""Landing a built commit on a workspace, journalled so that a crash can be finished or undone.

Steps (a journal step row is committed BEFORE each runs):
  build_commit → backup → write_files → update_ref → sync_index → done
Until `update_ref` the branch still points at the base commit and recovery undoes (restores the
touched files); once the ref moved, recovery rolls forward (writes the new files). Each file is
replaced with an atomic rename, so a file is always wholly old or wholly new."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone

from ..models import ApplyJournal, ApplyJournalStep, Backup, JournalState
from . import backups, gitops

log = logging.getLogger(__name__)

# Crash tests install a hook that may SIGKILL the process at any checkpoint.
STEP_HOOK: Callable[[str], None] | None = None


def checkpoint(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


def step(journal: ApplyJournal, name: str, **fields: Any) -> None:
    checkpoint(f"before:{name}")
    journal.step = name
    for key, value in fields.items():
        setattr(journal, key, value)
    journal.save(update_fields=["step", *fields])
    ApplyJournalStep.objects.create(journal=journal, step=name)
    checkpoint(f"after:{name}")


def start(
    workspace: Any, operation: str, base: str, holder: str, modification: Any = None
) -> ApplyJournal:
    checkpoint("before:start")
    journal = ApplyJournal.objects.create(
        workspace=workspace,
        modification=modification,
        operation=operation,
        branch=workspace.branch,
        base_commit=base,
        holder=holder,
        step="start",
    )
    ApplyJournalStep.objects.create(journal=journal, step="start")
    return journal


def _write_tree(repo: Path, commit: str, files: list[str]) -> None:
    for rel in files:
        checkpoint(f"file:{rel}")
        target = repo / rel
        entry = gitops.blob_at(repo, commit, rel)
        if entry is None:
            if target.exists() or target.is_symlink():
                target.unlink()
        else:
            gitops.write_file_atomically(target, *entry)


def _restore_files(repo: Path, journal: ApplyJournal) -> None:
    """The touched files as at the base commit: from the backup if it checks out, else from git."""
    saved: dict[str, tuple[bytes, str] | None] = {}
    if journal.backup_id:
        try:
            saved = backups.contents(Backup.objects.get(pk=journal.backup_id))
        except backups.BackupCorrupt:
            log.warning(
                "backup %s is corrupt; restoring journal %s from git objects",
                journal.backup_id,
                journal.pk,
            )
    for rel in journal.files:
        entry = saved[rel] if rel in saved else gitops.blob_at(repo, journal.base_commit, rel)
        target = repo / rel
        if entry is None:
            if target.exists() or target.is_symlink():
                target.unlink()
        else:
            gitops.write_file_atomically(target, *entry)


def _sweep_temp_files(repo: Path, files: list[str]) -> None:
    for parent in {(repo / rel).parent for rel in files}:
        for stray in parent.glob(".selfheal-*"):
            stray.unlink(missing_ok=True)


def _finish(journal: ApplyJournal, state: str) -> None:
    journal.state = state
    journal.finished_at = timezone.now()
    journal.save(update_fields=["state", "finished_at"])


def land(
    journal: ApplyJournal, workspace: Any, new_commit: str, *, modification: Any = None
) -> None:
    """Back up, write, move the ref, sync the index. On any error the change is undone."""
    repo = workspace.repo_path
    files = gitops.changed_paths(repo, journal.base_commit, new_commit)
    step(journal, "backup", new_commit=new_commit, files=files)
    backup = backups.create_backup(workspace, journal.base_commit, files, modification)
    step(journal, "write_files", backup=backup)
    try:
        _write_tree(repo, new_commit, files)
        step(journal, "update_ref")
        gitops.git(
            repo,
            "update-ref",
            "-m",
            f"selfheal {journal.operation}",
            gitops.branch_ref(journal.branch),
            new_commit,
            journal.base_commit,
        )
    except Exception:
        undo(journal, workspace)
        raise
    step(journal, "sync_index")
    _sync_index(repo, new_commit)
    step(journal, "done")
    _finish(journal, JournalState.DONE)


def _sync_index(repo: Path, commit: str) -> None:
    gitops.git(repo, "read-tree", commit)
    # --refresh exits 1 when files differ from the index; read-tree already made it right
    with contextlib.suppress(gitops.GitError):
        gitops.git(repo, "update-index", "-q", "--refresh")


def undo(journal: ApplyJournal, workspace: Any) -> None:
    repo = workspace.repo_path
    _restore_files(repo, journal)
    _sweep_temp_files(repo, journal.files)
    _sync_index(repo, journal.base_commit)
    step(journal, "undone")
    _finish(journal, JournalState.UNDONE)


def roll_forward(journal: ApplyJournal, workspace: Any) -> None:
    repo = workspace.repo_path
    _write_tree(repo, journal.new_commit, journal.files)
    _sweep_temp_files(repo, journal.files)
    _sync_index(repo, journal.new_commit)
    step(journal, "done")
    _finish(journal, JournalState.DONE)


def resolve(journal: ApplyJournal, workspace: Any) -> str:
    """Finish or undo an interrupted journal, judged by where the branch points. Returns the state."""
    ref = gitops.rev(workspace.repo_path, gitops.branch_ref(journal.branch))
    if journal.new_commit and ref == journal.new_commit:
        roll_forward(journal, workspace)
    elif ref == journal.base_commit:
        undo(journal, workspace)
    else:
        step(journal, "stuck")
        _finish(journal, JournalState.STUCK)
    return journal.state
