"""Blocked work resumes by itself, through real processes: a real Celery worker runs the pipeline,
real Celery beat sends the unblock sweep. Nothing here moves a blocked patch: only the lift
(an operator's resume, an admin's reset, time passing, bubblewrap appearing) does."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting, do_emergency_stop, do_resume
from healing.intake.actions import do_submit_patch
from healing.models import AuditEvent, EngineBreaker, Modification
from healing.queueing import send_later
from healing.sandbox.tasks import sandbox_modification
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.apply_helpers import FIX, approved_modification, make_repo
from tests.intake_helpers import envelope
from tests.judgement_helpers import fail

pytestmark = pytest.mark.django_db(transaction=True)

MOVED_ON = {"validating", "sandboxing", "awaiting_approval", "approved", "applying", "applied"}
MOVED_ON |= {"rejected", "failed"}


def wait_until(check: Callable[[], Any], seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {check.__doc__ or check}")


def status(pk: int) -> str:
    return Modification.objects.values_list("status", flat=True).get(pk=pk)


def submit(user: Any, source: str) -> int:
    return do_submit_patch(envelope(), submitted_by=user, source=source).pk


def unblocked(pk: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(modification_id=pk, kind="modification.unblocked").first()


def test_it_resumes_what_an_emergency_stop_held_in_arrival_order_on_resume(
    celery_worker_process: Any, workspace: Any, agent: Any, operator: Any
) -> None:
    do_emergency_stop(operator, "drill")
    pks = [submit(agent, "agent:agent-7") for _ in range(3)]
    wait_until(lambda: all(status(pk) == "blocked" for pk in pks))
    for pk in pks:
        mod = Modification.objects.get(pk=pk)
        assert list(mod.holds.values_list("kind", flat=True)) == ["emergency_stop"]
        event = AuditEvent.objects.filter(modification_id=pk, to_state="blocked").get()
        assert event.data["blocked_by"] == [{"kind": "emergency_stop", "key": "", "retry_at": None}]
    time.sleep(2)
    assert all(status(pk) == "blocked" for pk in pks)  # nothing moves them while the stop holds

    do_resume(operator, "drill over")  # no beat here: the resume itself lifts the block
    wait_until(lambda: all(status(pk) in MOVED_ON for pk in pks), 90)
    events = [unblocked(pk) for pk in pks]
    assert all(e is not None and e.data["blocked_by"] == "emergency_stop" for e in events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # in arrival order
    for pk in pks:  # intake again from the top, against the HEAD of now
        history = list(
            AuditEvent.objects.filter(modification_id=pk, kind="modification.transition")
            .order_by("pk")
            .values_list("to_state", flat=True)
        )
        assert history[:4] == ["validating", "blocked", "received", "validating"], history


def test_it_holds_only_the_failing_engine_and_resumes_it_on_an_admin_reset(
    celery_worker_process: Any, workspace: Any, api_as: Any, admin_user: Any, reviewer: Any
) -> None:
    engine_a = factories.make_user("engine-a", role="agent")
    engine_b = factories.make_user("engine-b", role="agent")
    fail(workspace, n=6, source="agent:engine-a")
    assert EngineBreaker.objects.for_source("agent:engine-a").state == "OPEN"

    held = submit(engine_a, "agent:engine-a")
    passes = submit(engine_b, "agent:engine-b")
    wait_until(lambda: status(held) == "blocked" and status(passes) in MOVED_ON - {"validating"})
    b = Modification.objects.get(pk=passes)
    assert b.preflight["intake"]["ok"] is True
    assert Modification.objects.get(pk=held).holds.get().key == "agent:engine-a"

    body = api_as(reviewer).get("/api/v1/breakers/").json()
    engines = {e["source"]: e for e in body["engines"]}
    assert engines["agent:engine-a"]["state"] == "OPEN"
    assert engines["agent:engine-a"]["consecutive_failures"] == 6
    assert [p["id"] for p in engines["agent:engine-a"]["held_patches"]] == [held]
    assert engines["agent:engine-b"]["state"] == "CLOSED"
    assert engines["agent:engine-b"]["held"] == 0
    assert body["global"]["state"] == "CLOSED"

    response = api_as(admin_user).post(
        "/api/v1/breakers/engines/agent:engine-a/reset/",
        {"reason": "engine-a fixed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    wait_until(lambda: status(held) in MOVED_ON)
    assert unblocked(held).data["blocked_by"] == "engine_breaker:agent:engine-a"


def test_it_resumes_when_the_engine_breaker_half_opens_after_its_cool_down(
    celery_beat_process: Any, workspace: Any, admin_user: Any
) -> None:
    do_change_setting(admin_user, "engine_breaker.cooldown_seconds", 3, "a short cool-down")
    engine_a = factories.make_user("engine-a", role="agent")
    fail(workspace, n=5, source="agent:engine-a")
    held = submit(engine_a, "agent:engine-a")
    wait_until(lambda: status(held) == "blocked")

    wait_until(lambda: status(held) in MOVED_ON, 60)
    event = unblocked(held)
    assert event is not None and event.data["blocked_by"] == "engine_breaker:agent:engine-a"
    assert AuditEvent.objects.filter(
        kind="breaker.engine", from_state="OPEN", to_state="HALF_OPEN"
    ).exists()


def test_it_applies_a_patch_the_rate_limit_held_once_its_window_has_passed(
    celery_beat_process: Any, tmp_path: Path, admin_user: Any
) -> None:
    do_change_setting(admin_user, "rate_limit.applications_per_window", 1, "one at a time")
    do_change_setting(admin_user, "rate_limit.window_seconds", 4, "a short window")
    do_change_setting(admin_user, "apply.health_window_s", 0, "no health watch in this test")
    mods = []
    for name in ("first", "second"):
        ws = factories.make_workspace(make_repo(tmp_path / name), name=name)
        mods.append(approved_modification(ws, FIX))
    for mod in mods:
        send_later("healing.apply_modification", mod.pk)

    wait_until(lambda: {status(m.pk) for m in mods} == {"applied", "blocked"})
    late = next(m for m in mods if status(m.pk) == "blocked")
    hold = late.holds.get()
    assert hold.kind == "rate_limit" and hold.retry_at is not None

    wait_until(lambda: status(late.pk) == "applied", 60)
    event = unblocked(late.pk)
    assert event is not None and event.data["stage"] == "approved"
    assert event.created_at >= hold.retry_at  # not before its window had passed


def test_it_sandboxes_a_patch_once_its_isolation_level_becomes_available(
    celery_beat_process: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bubblewrap_works.cache_clear()
    if not bubblewrap_works()[0]:
        pytest.skip("bubblewrap cannot run on this machine")
    ws = factories.make_workspace(make_repo(tmp_path), name="strict", isolation_level="full")
    mod = factories.make_modification(
        ws, diff=FIX, status="sandboxing", base_commit=ws.head_commit(), safety_level="SAFE"
    )
    with monkeypatch.context() as hidden:  # bubblewrap is gone from this machine for a while
        hidden.setenv("PATH", "/nonexistent")
        bubblewrap_works.cache_clear()
        assert sandbox_modification(mod.pk) == "blocked"
        assert mod.holds.get().kind == "isolation_unavailable"
        assert mod.holds.get().key == "full"
    assert os.environ["PATH"] != "/nonexistent"  # and back: the sweep sees it is available

    wait_until(lambda: status(mod.pk) in MOVED_ON - {"sandboxing"}, 90)
    assert unblocked(mod.pk).data["blocked_by"] == "isolation_unavailable:full"
    assert mod.sandbox_runs.filter(isolation_level="full").exists()
