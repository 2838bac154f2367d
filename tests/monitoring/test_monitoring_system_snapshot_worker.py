"""The beat task in a real Celery worker: the snapshot it writes measures the worker process."""

from __future__ import annotations

import time
from typing import Any

import psutil
import pytest

from monitoring.models import SystemSnapshot
from monitoring.tasks import system_snapshot_tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_measures_the_real_worker_process(celery_worker_process: Any) -> None:
    system_snapshot_tick.delay()
    deadline = time.monotonic() + 60
    while not SystemSnapshot.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    snap = SystemSnapshot.objects.get()
    worker = psutil.Process(celery_worker_process.pid)
    assert snap.worker_processes == 1  # --pool solo: the worker runs its tasks itself
    assert snap.worker_memory_mb == pytest.approx(worker.memory_info().rss / 2**20, rel=0.5)
    assert snap.hostname
    assert snap.status in {"HEALTHY", "DEGRADED", "UNHEALTHY", "CRITICAL"}
