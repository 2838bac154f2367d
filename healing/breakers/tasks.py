"""Celery tasks that resume blocked work (healing.actions.unblock). Thin: they call actions."""

from __future__ import annotations

from celery import shared_task

from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN

__all__ = ["lift_holds", "sweep_holds"]


@shared_task(name="healing.lift_holds", autoretry_for=DATABASE_DOWN, **RETRY_WHILE_DATABASE_DOWN)
def lift_holds(label: str) -> list[int]:
    """Sent on commit by the action that lifted `label` (resume, breaker reset/close/half-open)."""
    from ..actions.unblock import do_lift

    return do_lift(label)


@shared_task(name="healing.sweep_holds")
def sweep_holds() -> dict[str, list[int]]:
    """Beat, every few seconds: time-based lifts, and any lift whose event was lost."""
    from ..actions.unblock import do_sweep_holds

    return do_sweep_holds()
