"""The fetch before validation, with no earlier fetch to fall back on: a remote that is down
holds the patch (blocked, and the sweep resumes it once the remote answers); a remote that
answers and refuses rejects it with git's own words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from healing.actions.unblock import do_lift
from healing.intake.actions import do_process_modification
from healing.models import AuditEvent, Workspace
from tests import factories
from tests.apply_helpers import FIX, make_repo
from tests.remote_helpers import bare_remote, git_daemon, remote_head
from tests.services_helpers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(tmp_path: Path, settings: Any) -> Path:
    settings.SELFHEAL_MIRRORS = tmp_path / "var" / "mirrors"
    bare_remote(tmp_path / "served", make_repo(tmp_path))
    return tmp_path / "served"


def _received(url: str) -> Any:
    ws = Workspace.objects.create(name="outage", remote_url=url, isolation_level="partial")
    return factories.make_modification(ws, diff=FIX, files=["app.py"], status="received")


def test_it_holds_the_patch_while_the_remote_is_down_and_resumes_when_it_is_back(
    served: Path,
) -> None:
    port = free_port()
    mod = _received(f"git://127.0.0.1:{port}/repo.git")  # nothing listens there yet

    do_process_modification(mod.pk)

    mod.refresh_from_db()
    assert mod.status == "blocked", mod.status
    hold = mod.holds.get()
    assert (hold.kind, hold.key) == ("remote_unreachable", str(mod.workspace_id))
    assert mod.block_reason.startswith("the remote cannot be reached")
    assert "connect" in mod.block_reason.lower()
    label = f"remote_unreachable:{mod.workspace_id}"
    now = timezone.now()
    assert do_lift(label, now) == []  # its first probe is not due yet
    assert do_lift(label, now + timedelta(minutes=1)) == []  # probed: still down

    with git_daemon(served, port=port):
        assert do_lift(label, now + timedelta(minutes=2)) == [mod.pk]
        mod.refresh_from_db()
        assert mod.status == "received"

        do_process_modification(mod.pk)  # what the resume sends

    mod.refresh_from_db()
    assert mod.status == "sandboxing", (mod.status, mod.block_reason)
    assert mod.base_commit == remote_head(served / "repo.git")
    steps = list(
        AuditEvent.objects.filter(modification=mod, to_state__gt="")
        .order_by("id")
        .values_list("to_state", flat=True)
    )
    assert steps == ["validating", "blocked", "received", "validating", "sandboxing"], steps
    assert AuditEvent.objects.filter(modification=mod, kind="modification.unblocked").exists()


def test_it_rejects_the_patch_plainly_when_the_remote_refuses(served: Path) -> None:
    with git_daemon(served) as url:
        mod = _received(f"{url}no-such-repo.git")

        do_process_modification(mod.pk)

    mod.refresh_from_db()
    assert mod.status == "rejected"
    assert not mod.holds.exists()
    event = AuditEvent.objects.get(modification=mod, to_state="rejected")
    assert event.reason.startswith("the remote refused the fetch")
    assert "not exported" in event.reason  # git daemon's own words


def test_it_holds_an_approved_patch_while_the_remote_is_down_at_apply(served: Path) -> None:
    from healing.apply.actions import do_apply
    from tests.apply_helpers import approved_modification

    port = free_port()
    with git_daemon(served, port=port) as url:
        ws = Workspace.objects.create(
            name="outage", remote_url=f"{url}repo.git", isolation_level="partial"
        )
        mod = approved_modification(ws)  # validated against the remote's head of then
    base = mod.base_commit

    do_apply(mod)  # the remote is down now

    mod.refresh_from_db()
    assert mod.status == "blocked" and mod.blocked_from == "approved"
    assert mod.holds.get().kind == "remote_unreachable"
    assert not mod.remote_landings.exists()  # nothing was built or pushed
    with git_daemon(served, port=port):
        assert do_lift(f"remote_unreachable:{ws.pk}", timezone.now() + timedelta(minutes=1)) == [
            mod.pk
        ]
        mod.refresh_from_db()
        assert mod.status == "approved"
        do_apply(mod)  # what the resume sends

    mod.refresh_from_db()
    assert mod.status == "applied", mod.status
    assert remote_head(served / "repo.git") == mod.applied_commit
    assert factories.git(served / "repo.git", "rev-parse", f"{mod.applied_commit}^").strip() == base
