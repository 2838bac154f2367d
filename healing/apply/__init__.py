"""Apply, backups and rollback: land a patch as one git commit, crash-safe.

`do_apply`, `do_rollback(mod, actor, reason)` and `do_restore_backup` are the named actions;
`landing` holds the journalled steps and `recovery` finishes or undoes what a crash left."""

from __future__ import annotations

from typing import Any


def do_rollback(mod: Any, actor: Any, reason: str, *, automatic: bool = False) -> Any:
    from .actions import do_rollback as _do_rollback

    return _do_rollback(mod, actor, reason, automatic=automatic)


def do_apply(mod: Any, actor: Any = None) -> Any:
    from .actions import do_apply as _do_apply

    return _do_apply(mod, actor)


def do_restore_backup(backup: Any, actor: Any, reason: str = "") -> str:
    from .actions import do_restore_backup as _do_restore_backup

    return _do_restore_backup(backup, actor, reason)


__all__ = ["do_apply", "do_restore_backup", "do_rollback"]
