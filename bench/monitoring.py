"""Monitoring benchmarks: the degradation check over a 1,000-snapshot window and the batch
ingestion rate of POST /api/v1/snapshots/. Prints figures; asserts nothing.

    .venv/bin/python bench/monitoring.py            # SQLite (the embedded default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_monitoring .venv/bin/python bench/monitoring.py

It creates a throwaway database (a temporary SQLite file, or the named PostgreSQL database, which
must not hold anything you want to keep: it is flushed)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = (
        f"sqlite:///{tempfile.mkdtemp(prefix='bench-monitoring-')}/bench.sqlite3"
    )
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

# Live broadcasts need a channel layer; without the embedded Redis running they only log.
logging.getLogger("healing.broadcast").setLevel(logging.ERROR)

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from monitoring import geometry, telemetry  # noqa: E402
from monitoring.actions import do_ingest_snapshots  # noqa: E402
from monitoring.models import TelemetrySnapshot  # noqa: E402
from monitoring.synthetic import api_payload, stream  # noqa: E402
from tests import factories  # noqa: E402


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0)
    print(f"database: {connection.vendor}")
    TelemetrySnapshot.objects.filter(source__startswith="bench").delete()
    now = timezone.now()
    do_ingest_snapshots(
        stream(1000, start=now - timedelta(seconds=1000), step=timedelta(seconds=1), source="bench")
    )
    limits = telemetry.thresholds()
    window = telemetry.load_window("bench", 1000)
    baseline = window.basins[:20].mean(axis=0)

    pure = timed(lambda: geometry.detect_degradation(window, baseline, limits), 200)
    load = timed(lambda: telemetry.load_window("bench", 1000), 50)
    full = timed(lambda: telemetry.degradation("bench"), 50)
    print(
        f"degradation check, numpy over a {len(window)}×{window.basins.shape[1]} window: median {statistics.median(pure):.2f} ms, p95 {sorted(pure)[189]:.2f} ms"
    )
    print(
        f"loading the 1,000-snapshot window from the database: median {statistics.median(load):.2f} ms"
    )
    print(
        f"end to end (thresholds + baseline + window + check): median {statistics.median(full):.2f} ms"
    )

    ingest_rows = []
    agent = factories.make_user(f"bench-agent-{os.getpid()}", role="agent")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.token_for(agent)}")
    for batch in (1000, 5000):
        payload = {"source": f"bench-api-{batch}", "snapshots": api_payload(batch)}
        rates = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.post("/api/v1/snapshots/", payload, format="json")
            elapsed = time.perf_counter() - started
            assert response.status_code == 201, response.content[:300]
            rates.append(batch / elapsed)
        ingest_rows.append((batch, rates))
        print(
            f"POST snapshots/ in batches of {batch}: median {statistics.median(rates):,.0f} snapshots/s (incl. JSON parsing, validation, bulk insert)"
        )

    from _table import header, med, row, spread

    header()
    row("degradation check, numpy, 1,000-snapshot window", med(pure), spread(pure))
    row("loading the 1,000-snapshot window from the database", med(load), spread(load))
    row("degradation check end to end (thresholds+baseline+window+check)", med(full), spread(full))
    for batch, rates in ingest_rows:
        row(
            f"snapshot ingestion, POST batches of {batch}",
            f"{statistics.median(rates):,.0f} /s",
            f"min–max {min(rates):,.0f}–{max(rates):,.0f} /s",
        )


if __name__ == "__main__":
    main()
