"""The Celery queues, importable without Django (the launcher reads them before setup)."""

from __future__ import annotations

# Patches have a queue of their own, consumed by a worker of their own (launcher.py), so a flood
# of diagnostic runs, scheduled runs or housekeeping never delays a patch's decision. Every
# worker must name its queues (-Q): one started without it would consume the background queue
# only.
PATCH_QUEUE = "patches"
BACKGROUND_QUEUE = "background"
QUEUES = (PATCH_QUEUE, BACKGROUND_QUEUE)
PATCH_TASKS = (
    "healing.process_modification",
    "healing.sandbox_modification",
    "healing.apply_modification",
    "healing.verify_application",
    "healing.watch_application",
    "healing.lift_holds",
    "healing.sweep_holds",
)


def worker_queues_arg(*queues: str) -> list[str]:
    """The -Q option of a worker that consumes `queues` (all of them by default)."""
    return ["-Q", ",".join(queues or QUEUES)]
