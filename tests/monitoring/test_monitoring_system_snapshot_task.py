from __future__ import annotations

import os
from typing import Any

import psutil
import pytest

from monitoring.host_health import preflight_health
from monitoring.models import HealthStatus, ScheduleClock, SystemSnapshot
from monitoring.tasks import system_snapshot_tick

pytestmark = pytest.mark.django_db


def test_it_writes_a_real_psutil_snapshot() -> None:
    pk = system_snapshot_tick()
    snap = SystemSnapshot.objects.get(pk=pk)
    assert 0.0 <= snap.cpu_percent <= 100.0
    assert 0.0 < snap.memory_available_percent <= 100.0
    assert snap.disk_percent == pytest.approx(psutil.disk_usage("/").percent, abs=5)
    assert snap.load_1 == pytest.approx(os.getloadavg()[0], abs=5)
    assert snap.worker_processes >= 1
    # This process is the "worker" here: its RSS is real and in the same ballpark.
    assert snap.worker_memory_mb == pytest.approx(
        psutil.Process().memory_info().rss / 2**20, rel=0.5
    )
    assert snap.status in HealthStatus.values
    assert set(snap.checks) == {
        "cpu",
        "memory_available",
        "disk",
        "error_rate",
        "success_rate",
        "response_time",
    }
    assert all({"value", "threshold", "ok"} <= set(c) for c in snap.checks.values())


def test_it_takes_one_snapshot_per_interval_however_often_beat_ticks() -> None:
    assert system_snapshot_tick() is not None
    assert system_snapshot_tick() is None
    assert SystemSnapshot.objects.count() == 1
    ScheduleClock.objects.filter(name="system_snapshot").update(last_run_at=None)
    assert system_snapshot_tick() is not None


def test_it_computes_a_trend_with_its_slope_over_the_recent_window() -> None:
    for _ in range(4):
        ScheduleClock.objects.all().delete()
        system_snapshot_tick()
    latest = SystemSnapshot.objects.latest_first().first()
    assert latest.trend in {"improving", "stable", "degrading"}
    assert latest.trend_slope is not None


def test_it_judges_preflight_over_the_window_not_one_sample() -> None:
    for _ in range(3):
        ScheduleClock.objects.all().delete()
        system_snapshot_tick()
    result = preflight_health()
    assert result.samples == 3
    assert "median of 3" in result.basis
    assert set(result.metrics) >= {
        "cpu",
        "memory_available",
        "disk",
        "error_rate",
        "success_rate",
        "response_time",
    }
    assert all(m.threshold is not None for m in result.metrics.values())
    assert result.ok == (result.status in {"HEALTHY", "DEGRADED"} and result.score >= 0.8)


def test_it_excludes_sandbox_children_from_the_cpu_check(settings: Any) -> None:
    import subprocess
    import sys

    from monitoring.host_health import sample

    # A busy child of this process plays the sandbox: its CPU is counted as sandbox, not worker.
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        s = sample(interval=0.5)
    finally:
        busy.kill()
        busy.wait()
    assert s.sandbox_cpu_percent > 5.0
    assert s.worker_cpu_percent < 50.0


def test_it_samples_for_preflight_when_beat_is_not_running_and_stores_nothing() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        first = preflight_health()
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert first.samples == 1 and "fresh sample" in first.basis
    # One 0.25 s sample of CPU is noise: shown, not judged (memory and disk are).
    assert first.metrics["cpu"].ok is True and "not judged" in first.metrics["cpu"].note
    assert first.metrics["cpu"].value is not None
    # A read: storing snapshots is the snapshot task's job.
    assert SystemSnapshot.objects.count() == 0
    assert "fresh sample" in preflight_health().basis


def test_it_lets_a_saturated_cpu_degrade_but_not_block() -> None:
    from monitoring.host_health import health_limits, judge

    limits = health_limits()
    calm = {
        "cpu_excluding_sandbox": 20.0,
        "memory_available_percent": 50.0,
        "disk_percent": 40.0,
        "error_rate": 0.01,
        "success_rate": 1.0,
        "response_time_ms": 100.0,
    }
    assert judge(calm, limits, outcomes=10)[0] == "HEALTHY"
    status, score, checks = judge({**calm, "cpu_excluding_sandbox": 100.0}, limits, outcomes=10)
    assert (status, checks["cpu"]["ok"]) == ("DEGRADED", False)
    assert score >= limits["min_health_score"]
    assert (
        judge({**calm, "cpu_excluding_sandbox": 100.0, "error_rate": 0.2}, limits, outcomes=10)[0]
        == "UNHEALTHY"
    )
    assert judge({**calm, "memory_available_percent": 3.0}, limits, outcomes=10)[0] == "CRITICAL"
    # Too few outcomes: the success rate is not judged.
    assert judge({**calm, "success_rate": 0.5}, limits, outcomes=2)[2]["success_rate"]["ok"] is True


def test_it_needs_enough_outcomes_before_judging_the_engines_own_error_rate(workspace: Any) -> None:
    from healing.actions import record_event
    from monitoring.host_health import outcome_rates
    from tests import factories

    for _ in range(2):
        mod = factories.make_modification(workspace)
        record_event("modification.transition", "system", modification_id=mod.pk, to_state="failed")
    from datetime import timedelta

    few = outcome_rates(timedelta(hours=1), min_outcomes=5)
    assert few["outcomes"] == 2 and few["engine_error_rate"] is None and few["success_rate"] is None
    many = outcome_rates(timedelta(hours=1), min_outcomes=2)
    assert many["engine_error_rate"] == 1.0 and many["success_rate"] == 0.0
    assert many["error_rate"] is None  # the monitored application reported nothing
