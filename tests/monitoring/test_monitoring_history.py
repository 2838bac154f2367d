from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.actions import do_ingest_snapshots, do_rollup_telemetry
from monitoring.models import TelemetryRollup, TelemetrySnapshot
from monitoring.synthetic import stream
from monitoring.telemetry import history

pytestmark = pytest.mark.django_db


def _month(now: Any) -> None:
    # A month at one snapshot every 10 minutes, then rolled up: old rows become buckets.
    do_ingest_snapshots(
        stream(
            30 * 24 * 6,
            start=now - timedelta(days=30),
            step=timedelta(minutes=10),
            source="app",
            noise=0.0,
            phi=0.7,
        )
    )
    while do_rollup_telemetry(now)["deleted"]:
        pass


def test_it_rolls_up_raw_rows_past_the_retention() -> None:
    now = timezone.now()
    _month(now)
    cutoff = now - timedelta(days=7)
    assert not TelemetrySnapshot.objects.filter(recorded_at__lt=cutoff).exists()
    assert TelemetrySnapshot.objects.filter(recorded_at__gte=cutoff).count() >= 7 * 24 * 6 - 1
    rollups = TelemetryRollup.objects.all()
    assert sum(r.count for r in rollups) == 30 * 24 * 6 - TelemetrySnapshot.objects.count()
    assert all(r.phi_mean == pytest.approx(0.7) for r in rollups)


def test_it_charts_a_month_of_downsampled_data_in_one_query(django_assert_num_queries: Any) -> None:
    now = timezone.now()
    _month(now)
    with django_assert_num_queries(1):
        series = history("app", now - timedelta(days=31), now, max_points=500)
    assert 400 <= series["points"] <= 500
    assert sum(series["n"]) == 30 * 24 * 6
    assert all(p == pytest.approx(0.7) for p in series["phi"])
    assert series["t"] == sorted(series["t"])


def test_it_serves_history_through_the_api(api_as: Any, reviewer: Any, agent: Any) -> None:
    now = timezone.now()
    do_ingest_snapshots(
        stream(100, start=now - timedelta(hours=2), step=timedelta(minutes=1), source="app")
    )
    body = api_as(reviewer).get("/api/v1/history/", {"source": "app", "points": 50}).json()
    assert body["points"] <= 50 and sum(body["n"]) == 100
    assert "attempts" in body
    assert api_as(reviewer).get("/api/v1/history/", {"since": "yesterday"}).status_code == 400
    assert api_as(reviewer).get("/api/v1/history/", {"points": "9999999"}).status_code == 400
    assert api_as(agent).get("/api/v1/history/").status_code == 403
