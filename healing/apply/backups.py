"""Backups: the touched files, copied before a change lands, with a sha256 manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import tunables
from ..actions.audit import Actor, record_event
from ..models import Backup
from . import gitops


class BackupCorrupt(Exception):
    """A backup whose files do not match their checksums: refused, never restored."""

    def __init__(self, backup: Backup, mismatches: list[str]):
        self.backup = backup
        self.mismatches = mismatches
        super().__init__(
            f"backup {backup.pk} is corrupt; checksum mismatch in: {', '.join(mismatches)}"
        )


def backup_root() -> Path:
    root = Path(getattr(settings, "SELFHEAL_BACKUP_DIR", None) or settings.VAR_DIR / "backups")
    root.mkdir(parents=True, exist_ok=True)
    return root


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_backup(
    workspace: Any, base_commit: str, paths: list[str], modification: Any = None
) -> Backup:
    """Copy each path as it is in the work tree (the caller checked it is clean) and fsync."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    directory = (
        backup_root() / f"{workspace.name}-{stamp}-{modification.pk if modification else 'manual'}"
    )
    (directory / "files").mkdir(parents=True)
    entries = []
    for rel in paths:
        source = workspace.repo_path / rel
        if source.is_file() and not source.is_symlink():
            data = source.read_bytes()
            target = directory / "files" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            mode = "100755" if os.access(source, os.X_OK) else "100644"
            entries.append(
                {
                    "path": rel,
                    "exists": True,
                    "sha256": sha256(data),
                    "size": len(data),
                    "mode": mode,
                }
            )
        else:
            entries.append({"path": rel, "exists": False})
    manifest = {"workspace": workspace.name, "base_commit": base_commit, "files": entries}
    with open(directory / "manifest.json", "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    return Backup.objects.create(
        workspace=workspace,
        modification=modification,
        path=str(directory),
        base_commit=base_commit,
        manifest=manifest,
    )


def verify(backup: Backup) -> list[str]:
    """Paths whose stored copy is missing or does not match its sha256 (empty: intact)."""
    bad = []
    for entry in backup.files:
        if not entry.get("exists"):
            continue
        copy = Path(backup.path) / "files" / entry["path"]
        if not copy.is_file() or sha256(copy.read_bytes()) != entry["sha256"]:
            bad.append(entry["path"])
    return bad


def contents(backup: Backup) -> dict[str, tuple[bytes, str] | None]:
    """The files as they were, after the checksum check. Raises BackupCorrupt."""
    bad = verify(backup)
    if bad:
        raise BackupCorrupt(backup, bad)
    result: dict[str, tuple[bytes, str] | None] = {}
    for entry in backup.files:
        if entry.get("exists"):
            result[entry["path"]] = (
                (Path(backup.path) / "files" / entry["path"]).read_bytes(),
                entry.get("mode", "100644"),
            )
        else:
            result[entry["path"]] = None
    return result


def refuse(backup: Backup, exc: BackupCorrupt, actor: Actor) -> None:
    record_event(
        "backup.restore_refused",
        actor,
        workspace_id=backup.workspace_id,
        modification_id=backup.modification_id,
        reason=str(exc),
        data={"backup_id": backup.pk, "mismatches": exc.mismatches},
    )


@transaction.atomic
def prune_backups(workspace: Any = None) -> int:
    """Drop backups older than the retention or beyond the newest N; returns how many."""
    days = tunables.get("apply.backup_retention_days", workspace)
    keep = tunables.get("apply.backup_max_count", workspace)
    live = Backup.objects.live()
    if workspace is not None:
        live = live.filter(workspace=workspace)
    doomed = set(live.older_than(timedelta(days=days)).values_list("pk", flat=True))
    doomed |= set(live.order_by("-created_at", "-id").values_list("pk", flat=True)[keep:])
    now = timezone.now()
    for backup in Backup.objects.filter(pk__in=doomed):
        shutil.rmtree(backup.path, ignore_errors=True)
        backup.pruned_at = now
        backup.save(update_fields=["pruned_at"])
    if doomed:
        record_event("backup.prune", "system", data={"count": len(doomed)}, broadcast_it=False)
    return len(doomed)


__all__ = [
    "BackupCorrupt",
    "contents",
    "create_backup",
    "gitops",
    "prune_backups",
    "refuse",
    "verify",
]
