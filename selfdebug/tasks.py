"""Celery tasks of self-debugging. Thin: the work is in service.py and testgen.py. The names keep
the `healing.` prefix they always had, so queued messages, routes and beat entries still find
them."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="healing.run_diagnostics")
def run_diagnostics(run_id: int) -> str | None:
    from .service import execute

    run = execute(run_id)
    return run.status if run is not None else None


@shared_task(name="healing.schedule_diagnostics")
def schedule_diagnostics() -> list[int]:
    """Beat: every few minutes, queue the workspaces whose diagnostics interval has passed."""
    from .service import schedule_due

    return schedule_due()


@shared_task(name="healing.generate_tests")
def generate_tests(
    workspace_id: int, module: str, requested_by_id: int | None = None
) -> int | None:
    from .testgen import generate_and_propose

    proposal = generate_and_propose(workspace_id, module, requested_by_id)
    return proposal.pk if proposal is not None else None


__all__ = ["generate_tests", "run_diagnostics", "schedule_diagnostics"]
