"""do_apply / do_rollback on a remote workspace served by a real `git daemon` on loopback."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from healing.apply.actions import do_apply, do_rollback
from healing.models import AuditEvent, RemoteLanding, Workspace
from healing.remote import push as remote_push
from healing.remote.mirror import mirror_path
from tests import factories
from tests.apply_helpers import FIX, approved_modification, make_repo
from tests.remote_helpers import bare_remote, git_daemon, move_remote, remote_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(tmp_path: Path, settings: Any) -> Any:
    settings.SELFHEAL_MIRRORS = tmp_path / "var-a" / "mirrors"
    bare = bare_remote(tmp_path / "served", make_repo(tmp_path))
    with git_daemon(tmp_path / "served") as url:
        yield bare, f"{url}repo.git"


def _workspace(url: str, **fields: Any) -> Workspace:
    return Workspace.objects.create(
        name="remote",
        remote_url=url,
        branch="main",
        isolation_level="partial",
        **fields,
    )


def test_it_pushes_the_commit_with_the_base_as_parent(remote: Any, tmp_path: Path) -> None:
    bare, url = remote
    base = remote_head(bare)
    ws = _workspace(url)
    mod = approved_modification(ws)
    assert mod.base_commit == base

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "applied", mod.status
    assert remote_head(bare) == mod.applied_commit
    assert factories.git(bare, "rev-parse", f"{mod.applied_commit}^").strip() == base
    assert "return a - b" in factories.git(bare, "show", f"{mod.applied_commit}:app.py")
    landing = RemoteLanding.objects.get(modification=mod)
    assert (landing.state, landing.base_commit, landing.new_commit) == (
        "pushed",
        base,
        mod.applied_commit,
    )
    # The mirror is bare: no work tree was written to on this host.
    assert (mirror_path(ws) / "HEAD").is_file() and not (mirror_path(ws) / "app.py").exists()


def test_it_sends_the_patch_back_to_validation_when_the_remote_moved(
    remote: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    bare, url = remote
    ws = _workspace(url)
    mod = approved_modification(ws)
    moved = move_remote(bare, tmp_path)
    sent: list[tuple] = []
    monkeypatch.setattr("healing.queueing.send_later", lambda *args: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "validating"
    assert remote_head(bare) == moved  # nothing of ours on the remote
    assert [s[:2] for s in sent if s[0] == "healing.process_modification"] == [
        ("healing.process_modification", mod.pk)
    ]
    assert AuditEvent.objects.filter(modification=mod, to_state="validating").exists()


def test_it_refuses_a_push_whose_lease_is_stale(remote: Any, tmp_path: Path) -> None:
    """The compare-and-swap itself: the remote moved between our fetch and our push."""
    bare, url = remote
    ws = _workspace(url)
    mod = approved_modification(ws)
    base = mod.base_commit
    from healing.apply import gitops

    new = gitops.commit_from_diff(
        mirror_path(ws), base, FIX, "fix\n", gitops.Author("T", "t@x.invalid")
    )
    moved = move_remote(bare, tmp_path)

    with pytest.raises(remote_push.RemoteMoved):
        remote_push.push(ws, new, "refs/heads/main", base)
    assert remote_head(bare) == moved


def test_it_lands_only_a_branch_in_branch_mode(remote: Any) -> None:
    bare, url = remote
    base = remote_head(bare)
    ws = _workspace(url, landing="branch")
    mod = approved_modification(ws)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "applied"
    assert remote_head(bare) == base
    assert remote_head(bare, f"refs/heads/selfheal/{mod.patch_id}") == mod.applied_commit


def test_it_verifies_what_branch_mode_pushed_not_the_base_branch(remote: Any) -> None:
    """The base branch still has the bug the patch fixes: tests run there would fail and roll
    the pushed branch back. The post-apply check runs on the pushed commit."""
    from healing.apply.verify import verify_tests
    from healing.models import SandboxRun

    bare, url = remote
    base = remote_head(bare)
    ws = _workspace(url, landing="branch", test_command="python -m pytest -q -p no:cacheprovider")
    mod = approved_modification(ws)
    do_apply(mod)
    mod.refresh_from_db()

    assert verify_tests(mod) is None

    run = SandboxRun.objects.get(modification=mod, kind="verify")
    assert run.commit == mod.applied_commit != base
    assert run.failing == []
    assert remote_head(bare) == base  # and nothing claimed the base branch got it


def test_it_rolls_back_with_a_revert_commit_pushed_the_same_way(remote: Any) -> None:
    bare, url = remote
    ws = _workspace(url)
    mod = approved_modification(ws)
    do_apply(mod)
    mod.refresh_from_db()

    do_rollback(mod, None, "bad idea")

    mod.refresh_from_db()
    assert mod.status == "rolled_back"
    head = remote_head(bare)
    assert factories.git(bare, "rev-parse", f"{head}^").strip() == mod.applied_commit
    assert "return a + b" in factories.git(bare, "show", f"{head}:app.py").split("def sub")[1]
    revert = RemoteLanding.objects.get(modification=mod, operation="rollback")
    assert (revert.base_commit, revert.new_commit, revert.state) == (
        mod.applied_commit,
        head,
        "pushed",
    )


def test_it_lets_exactly_one_of_two_racing_pushes_land(
    remote: Any, tmp_path: Path, settings: Any
) -> None:
    """Two workers (two mirrors) push on the same head at once: one lands, the other is told the
    remote moved (by its own lease check or by the server's ref lock) — never a plain error."""
    import threading

    from healing.apply import gitops
    from healing.remote.mirror import refresh

    bare, url = remote
    ws = _workspace(url)
    author = gitops.Author("T", "t@x.invalid")
    for round_ in range(6):
        base = refresh(ws)
        commits = [
            gitops.commit_from_files(
                mirror_path(ws),
                base,
                {f"w{i}.txt": (f"{round_}\n".encode(), "100644")},
                "w\n",
                author,
            )
            for i in (1, 2)
        ]
        outcomes: list[str] = []
        gate = threading.Barrier(2)
        threads = [
            threading.Thread(target=_racing_push, args=(ws, c, base, gate, outcomes))
            for c in commits
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["landed", "moved"], outcomes
        assert remote_head(bare) in commits


def _racing_push(ws: Any, commit: str, base: str, gate: Any, outcomes: list[str]) -> None:
    gate.wait()
    try:
        remote_push.push(ws, commit, "refs/heads/main", base)
        outcomes.append("landed")
    except remote_push.RemoteMoved:
        outcomes.append("moved")
    except Exception as exc:  # noqa: BLE001 - the test reports what it was
        outcomes.append(f"error: {exc}")


def test_it_does_not_roll_a_branch_back_for_production_health(
    remote: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Branch mode leaves production without the change: CRITICAL health there is someone
    else's problem. The tests still run on the pushed commit; no health watch deletes the
    branch, and the audit trail says why health was not watched."""
    from healing.apply.tasks import apply_modification, watch_application
    from healing.contrib import HEALTH_SOURCES
    from healing.models import SandboxRun
    from tests.judgement_helpers import HEALTHY, install_health_stand_in

    bare, url = remote
    ws = _workspace(url, landing="branch", test_command="python -m pytest -q -p no:cacheprovider")
    mod = approved_modification(ws)
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(HEALTHY))
    sent: list[tuple] = []
    monkeypatch.setattr("healing.apply.tasks.send_later", lambda *args: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        assert apply_modification(mod.pk) == "applied"
    critical = dataclasses.replace(HEALTHY, ok=False, status="CRITICAL", score=0.1)
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(critical))
    for task, *args in sent:  # whatever the apply queued runs now, in production's bad hour
        if task is watch_application:
            watch_application(*args)

    mod.refresh_from_db()
    assert mod.status == "applied" and mod.rollback_count == 0
    branch = f"refs/heads/selfheal/{mod.patch_id}"
    assert remote_head(bare, branch) == mod.applied_commit
    assert SandboxRun.objects.get(modification=mod, kind="verify").commit == mod.applied_commit
    event = AuditEvent.objects.get(modification=mod, kind="modification.health_not_watched")
    assert "production does not run the change" in event.reason


def test_it_rolls_a_pushed_patch_back_when_production_turns_critical(
    remote: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Push mode puts the change on the base branch: there the health watch does its job."""
    from healing.apply.tasks import apply_modification, watch_application
    from healing.contrib import HEALTH_SOURCES
    from tests.judgement_helpers import HEALTHY, install_health_stand_in

    bare, url = remote
    ws = _workspace(url, test_command="python -m pytest -q -p no:cacheprovider")
    mod = approved_modification(ws)
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(HEALTHY))
    sent: list[tuple] = []
    monkeypatch.setattr("healing.apply.tasks.send_later", lambda *args: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        assert apply_modification(mod.pk) == "applied"
    critical = dataclasses.replace(HEALTHY, ok=False, status="CRITICAL", score=0.1)
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(critical))
    [(task, *args)] = sent
    assert task is watch_application

    assert watch_application(*args) == "rolled_back"
    mod.refresh_from_db()
    assert factories.git(bare, "rev-parse", "refs/heads/main^").strip() == mod.applied_commit
    assert not AuditEvent.objects.filter(kind="modification.health_not_watched").exists()
