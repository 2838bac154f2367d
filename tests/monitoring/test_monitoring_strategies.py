"""The strategies other than Φ (tested in test_monitoring_healing_loop.py), each on a stream made
to trip it, and each quiet on a healthy one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from monitoring.actions import do_ingest_snapshots, do_run_healing_cycle, do_set_baseline
from monitoring.models import SystemSnapshot
from monitoring.synthetic import stream

pytestmark = pytest.mark.django_db
STEP = timedelta(seconds=15)


def test_it_stays_quiet_on_a_healthy_stream() -> None:
    do_ingest_snapshots(stream(300, start=timezone.now() - STEP * 300, step=STEP, source="app"))
    do_set_baseline("system", source="app", reason="test")
    assert do_run_healing_cycle() == []


def test_it_proposes_a_baseline_reset_for_drift_nobody_caused(operator: Any) -> None:
    center = np.zeros(64)
    moved = np.zeros(64)
    moved[:3] = 15.0
    start = timezone.now() - STEP * 300
    do_ingest_snapshots(stream(200, start=start, step=STEP, source="app", basin_center=center))
    do_set_baseline(operator, source="app", basin_coords=center.tolist(), reason="test")
    do_ingest_snapshots(
        stream(100, start=start + STEP * 200, step=STEP, source="app", basin_center=moved, seed=3)
    )
    created = do_run_healing_cycle()
    drift = [a for a in created if a.strategy == "basin_drift"]
    assert len(drift) == 1
    assert drift[0].action == "reset_baseline" and drift[0].modification is None
    assert drift[0].finding["value"] > 2.0


def test_it_proposes_a_worker_restart_for_a_rising_memory_trend() -> None:
    now = timezone.now()
    rows = [
        SystemSnapshot(
            taken_at=now - timedelta(seconds=15 * (40 - i)),
            hostname="h",
            cpu_percent=10,
            memory_available_percent=60,
            disk_percent=40,
            load_1=0.5,
            load_5=0.5,
            load_15=0.5,
            worker_processes=3,
            worker_memory_mb=200 + 3.0 * i + (i % 3),
            status="HEALTHY",
            health_score=1.0,
        )
        for i in range(40)
    ]
    SystemSnapshot.objects.bulk_create(rows)
    created = do_run_healing_cycle()
    assert [(a.strategy, a.action) for a in created] == [("memory_leak", "restart_workers")]
    assert created[0].finding["value"] == pytest.approx(12.0, rel=0.1)  # 3 MB per 15 s


def test_it_proposes_an_engine_breaker_for_an_error_spike_nobody_caused() -> None:
    start = timezone.now() - STEP * 300
    do_ingest_snapshots(
        stream(250, start=start, step=STEP, source="app")
        + stream(50, start=start + STEP * 250, step=STEP, source="app", error_rate=0.3, seed=5)
    )
    created = do_run_healing_cycle()
    spikes = [a for a in created if a.strategy == "error_spike"]
    assert len(spikes) == 1 and spikes[0].action == "open_breaker"
    assert spikes[0].finding["metric"] == "error_rate" and spikes[0].finding["threshold"] == 0.05
