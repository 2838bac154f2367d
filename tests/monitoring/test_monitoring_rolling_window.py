from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from monitoring.actions import do_ingest_snapshots
from monitoring.models import TelemetrySnapshot
from monitoring.synthetic import stream
from monitoring.telemetry import load_window, rolling_window

pytestmark = pytest.mark.django_db


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.ids.tolist() == b.ids.tolist()
    assert np.array_equal(a.basins, b.basins)
    assert np.array_equal(a.phi, b.phi)


def test_it_keeps_the_cached_window_equal_to_the_last_rows_in_the_database() -> None:
    now = timezone.now()
    do_ingest_snapshots(
        stream(120, start=now - timedelta(minutes=30), step=timedelta(seconds=10), source="w")
    )
    _same(rolling_window("w", 100), load_window("w", 100))
    # New rows, one of them late (recorded before others): the window is merged by time.
    late = stream(
        1,
        start=now - timedelta(minutes=29, seconds=55),
        step=timedelta(seconds=1),
        source="w",
        seed=9,
    )
    do_ingest_snapshots(
        stream(30, start=now - timedelta(seconds=30), step=timedelta(seconds=1), source="w", seed=5)
        + late
    )
    _same(rolling_window("w", 100), load_window("w", 100))


def test_it_reloads_when_its_rows_are_gone() -> None:
    now = timezone.now()
    do_ingest_snapshots(
        stream(50, start=now - timedelta(minutes=10), step=timedelta(seconds=10), source="g")
    )
    assert len(rolling_window("g", 100)) == 50
    TelemetrySnapshot.objects.filter(source="g").delete()
    do_ingest_snapshots(
        stream(5, start=now - timedelta(seconds=5), step=timedelta(seconds=1), source="g", seed=2)
    )
    _same(rolling_window("g", 100), load_window("g", 100))
