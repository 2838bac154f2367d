"""Celery tasks of workspace environments. Thin: they claim and call actions."""

from __future__ import annotations

from celery import shared_task

from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN


@shared_task(
    name="healing.build_environment", autoretry_for=DATABASE_DOWN, **RETRY_WHILE_DATABASE_DOWN
)
def build_environment(build_id: int) -> str | None:
    """pending → building → ready | failed; the patches waiting on it go back to the sandbox."""
    from ..actions.environments import do_claim_build, do_record_build
    from .environments import build

    claimed = do_claim_build(build_id)
    if claimed is None:
        return None  # another worker builds it (or built it)
    fields = build(claimed, claimed.workspace)
    return do_record_build(claimed, fields).status


@shared_task(name="healing.prune_environments")
def prune_environments() -> list[str]:
    from ..actions.environments import do_prune_environments

    return do_prune_environments()
