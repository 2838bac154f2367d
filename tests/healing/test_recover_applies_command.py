"""manage.py recover_applies: an apply interrupted after its files were written is undone."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from healing.apply import landing
from healing.apply.actions import do_apply
from healing.models import ApplyJournal, WorkspaceLock
from tests import factories
from tests.apply_helpers import approved_modification, make_repo, snapshot


class Crash(BaseException):
    """Stands in for the process dying: nothing in do_apply catches a BaseException."""


def test_it_undoes_an_apply_interrupted_before_the_ref_moved(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")
    ws = factories.make_workspace(make_repo(tmp_path), name="calc")
    mod = approved_modification(ws)
    before = snapshot(ws.repo_path)

    def die(name: str) -> None:
        if name == "before:update_ref":
            raise Crash

    landing.STEP_HOOK = die
    try:
        with pytest.raises(Crash):
            do_apply(mod)
    finally:
        landing.STEP_HOOK = None
    # (A real kill -9 would also leave its lock behind: see test_apply_crash_recovery.py.)
    assert not WorkspaceLock.objects.exists()
    assert "return a - b" in (ws.repo_path / "app.py").read_text()  # half-applied

    out = io.StringIO()
    call_command("recover_applies", stdout=out)

    assert "undone" in out.getvalue()
    assert snapshot(ws.repo_path) == before
    mod.refresh_from_db()
    assert mod.status == "failed"
    assert ApplyJournal.objects.get(modification=mod).state == "undone"
