"""The Celery app. Beat entries are collected from each app's `schedules.BEAT_SCHEDULE`."""

from __future__ import annotations

import gc
import importlib
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from healing.worker_steps import RequeueStalledOnConnect

from .celery_queues import BACKGROUND_QUEUE, PATCH_QUEUE, PATCH_TASKS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")

app = Celery("selfheal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = BACKGROUND_QUEUE
app.conf.task_routes = {name: {"queue": PATCH_QUEUE} for name in PATCH_TASKS}
app.autodiscover_tasks()
app.steps["consumer"].add(RequeueStalledOnConnect)

SCHEDULE_MODULES = (
    "healing.schedules",
    "monitoring.schedules",
    "approvals.schedules",
    "selfdebug.schedules",
)


@app.on_after_finalize.connect
def collect_beat_schedule(sender: Celery, **kwargs: object) -> None:
    schedule: dict = {}
    for name in SCHEDULE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        schedule.update(getattr(module, "BEAT_SCHEDULE", {}))
    sender.conf.beat_schedule = schedule


@worker_ready.connect
@worker_process_init.connect
def freeze_startup_objects(**kwargs: object) -> None:
    """Move everything loaded at start-up (Django, the apps, the grammars) out of the garbage
    collector's sight. Validation allocates many small syntax-tree objects; without this, every
    full collection walked the whole framework heap too, and one patch in twenty took 70-80 ms
    instead of 10 (bench/intake_pipeline.py)."""
    gc.freeze()
