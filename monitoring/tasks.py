"""Celery tasks of the monitoring area. Beat ticks them often; each claims its own tunable
interval (ScheduleClock), so an admin's change of the interval takes effect without a restart."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from healing import tunables

from . import actions
from .models import HealingLoopState


@shared_task(name="monitoring.system_snapshot_tick", ignore_result=True)
def system_snapshot_tick() -> int | None:
    if not actions.claim_schedule(
        "system_snapshot", tunables.get("health.snapshot_interval_seconds") - 1
    ):
        return None
    return actions.do_take_system_snapshot().pk


@shared_task(name="monitoring.healing_loop_tick", ignore_result=True)
def healing_loop_tick() -> int | None:
    if not HealingLoopState.objects.current().running:
        return None
    if not actions.claim_schedule("healing_loop", tunables.get("loop.interval_seconds") - 1):
        return None
    return len(actions.do_run_healing_cycle())


@shared_task(name="monitoring.rollup_telemetry", ignore_result=True)
def rollup_telemetry() -> dict[str, Any]:
    return actions.do_rollup_telemetry(timezone.now())


@shared_task(name="monitoring.compute_fitness")
def compute_fitness(modification_id: int, phase: str = "post_apply") -> dict[str, Any]:
    from healing.models import Modification

    return actions.do_compute_fitness(Modification.objects.get(pk=modification_id), phase)
