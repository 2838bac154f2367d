"""healing.actions.unblock: blocks name what lifts them; a lift resumes what it held, in arrival
order, at the stage it was blocked at, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting, do_emergency_stop, do_resume
from healing.actions.unblock import do_lift, do_sweep_holds
from healing.apply.actions import do_apply
from healing.breakers.actions import do_engine_breaker_action
from healing.intake.actions import do_submit_patch
from healing.intake.tasks import process_modification
from healing.models import AuditEvent, Hold, Modification
from tests.apply_helpers import approved_modification
from tests.intake_helpers import envelope
from tests.judgement_helpers import healthy_monitor  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("healthy_monitor")


def blocked_at_intake(agent: Any, n: int = 1) -> list[Modification]:
    mods = []
    for _ in range(n):
        mod = do_submit_patch(envelope(), submitted_by=agent, source="agent:agent-7")
        assert process_modification.run(mod.pk) == "blocked"
        mods.append(Modification.objects.get(pk=mod.pk))
    return mods


@pytest.mark.django_db
def test_it_resumes_in_arrival_order_each_at_the_stage_it_was_blocked_at(
    agent: Any, operator: Any, workspace: Any
) -> None:
    do_emergency_stop(operator, "drill")
    [early] = blocked_at_intake(agent)
    at_apply = approved_modification(workspace)
    do_apply(at_apply)
    [late] = blocked_at_intake(agent)
    assert Modification.objects.get(pk=at_apply.pk).status == "blocked"
    assert do_lift("emergency_stop") == []  # still stopped: nothing moves

    do_resume(operator, "over")
    assert do_lift("emergency_stop") == [early.pk, at_apply.pk, late.pk]
    statuses = dict(Modification.objects.values_list("pk", "status"))
    assert [statuses[m.pk] for m in (early, at_apply, late)] == ["received", "approved", "received"]
    assert not Hold.objects.exists()
    assert do_lift("emergency_stop") == []  # a second delivery of the lift does nothing
    assert AuditEvent.objects.filter(kind="modification.unblocked").count() == 3


@pytest.mark.django_db
def test_it_waits_for_every_block_that_holds_a_patch(
    agent: Any, operator: Any, admin_user: Any, workspace: Any
) -> None:
    do_emergency_stop(operator, "drill")
    do_engine_breaker_action(admin_user, "force-open", "freeze")
    [mod] = blocked_at_intake(agent)
    assert set(mod.holds.values_list("kind", flat=True)) == {"emergency_stop", "global_breaker"}

    do_resume(operator, "over")
    assert do_sweep_holds() == {}
    assert Modification.objects.get(pk=mod.pk).status == "blocked"
    do_engine_breaker_action(admin_user, "force-close", "freeze over")
    assert do_sweep_holds() == {"global_breaker": [mod.pk]}
    assert Modification.objects.get(pk=mod.pk).status == "received"


@pytest.mark.django_db
def test_it_lets_as_many_go_as_the_rate_limit_has_places(workspace: Any) -> None:
    from healing.breakers.ratelimit import reserve

    do_change_setting(None, "rate_limit.applications_per_window", 1)
    first, *held = [approved_modification(workspace) for _ in range(3)]
    assert reserve(first.pk).ok  # the only place, as its apply pre-flight takes it
    for mod in held:
        assert do_apply(mod).status == "blocked"
        hold = Hold.objects.get(modification=mod)
        assert hold.kind == "rate_limit" and hold.retry_at is not None
    assert do_sweep_holds() == {}  # the window is full

    do_change_setting(None, "rate_limit.applications_per_window", 2)  # one place more
    assert do_sweep_holds() == {"rate_limit": [held[0].pk]}
    assert Modification.objects.get(pk=held[1].pk).status == "blocked"


@pytest.mark.django_db(transaction=True)
def test_it_resumes_each_patch_once_when_four_sweepers_race(
    celery_worker_process: Any, agent: Any, operator: Any, workspace: Any, tmp_path: Path
) -> None:
    import time

    from tests.healing.test_breaker_processes import hammer

    do_emergency_stop(operator, "drill")
    mods = [
        do_submit_patch(envelope(), submitted_by=agent, source="agent:agent-7") for _ in range(40)
    ]
    held = sorted(m.pk for m in mods)
    deadline = time.monotonic() + 120  # the worker's intake blocks them
    while time.monotonic() < deadline and Hold.objects.count() < 40:
        time.sleep(0.2)
    assert sorted(Hold.objects.values_list("modification_id", flat=True)) == held
    do_resume(operator, "over")  # the worker's lift races the four sweepers below

    reports = hammer("sweep", [[], [], [], []], tmp_path)
    assert sum(r["counted"] for r in reports) <= 40
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Hold.objects.exists():
        time.sleep(0.2)
    events = AuditEvent.objects.filter(kind="modification.unblocked")
    assert sorted(events.values_list("modification_id", flat=True)) == held  # each exactly once


@pytest.mark.django_db
def test_it_checks_again_a_patch_blocked_before_blocks_named_their_lift(
    workspace: Any, admin_user: Any
) -> None:
    import importlib

    from django.apps import apps

    from healing.models import EngineBreaker
    from tests import factories

    migration = importlib.import_module("healing.migrations.0010_breakers_per_engine_holds")
    old = factories.make_modification(
        workspace, status="blocked", blocked_from="approved", block_reason="engine breaker open"
    )
    EngineBreaker.objects.current()  # the one engine-wide row of before
    EngineBreaker.objects.filter(source="").update(state="OPEN", consecutive_failures=7)
    migration.forward(apps, None)
    assert EngineBreaker.objects.current().state == "CLOSED"  # it counted every engine: gone
    assert do_sweep_holds() == {"recheck": [old.pk]}
    assert Modification.objects.get(pk=old.pk).status == "approved"  # its apply checks again
