from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from monitoring.actions import do_ingest_snapshots, do_rollup_telemetry, do_set_baseline
from monitoring.models import TelemetryRollup, TelemetrySnapshot
from monitoring.synthetic import stream


class Command(BaseCommand):
    help = (
        "Write a synthetic, labelled (is_demo) telemetry stream for the demo: a month of history that "
        "is rolled up, then a recent day in which Φ drops. Safe to re-run with --replace."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--source", default="demo-app")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument(
            "--replace", action="store_true", help="Delete the source's demo rows first."
        )

    def handle(self, *args: Any, source: str, days: int, replace: bool, **options: Any) -> None:
        if replace:
            TelemetrySnapshot.objects.filter(source=source, is_demo=True).delete()
            TelemetryRollup.objects.filter(source=source, is_demo=True).delete()
        elif TelemetrySnapshot.objects.filter(source=source, is_demo=True).exists():
            self.stdout.write(
                f"Demo telemetry for {source} exists (use --replace to write it again)."
            )
            return
        now = timezone.now()
        old_step = timedelta(minutes=5)
        old = stream(
            int(days * 24 * 12),
            start=now - timedelta(days=days),
            step=old_step,
            source=source,
            seed=11,
            noise=0.02,
        )
        recent_step = timedelta(seconds=60)
        healthy = stream(
            20 * 60, start=now - timedelta(hours=24), step=recent_step, source=source, seed=12
        )
        dropped = stream(
            4 * 60,
            start=now - timedelta(hours=4),
            step=recent_step,
            source=source,
            seed=12,
            phi=0.6,
            latency_ms=240.0,
        )
        for chunk_start in range(0, len(old), 5000):
            do_ingest_snapshots(old[chunk_start : chunk_start + 5000], is_demo=True)
        do_ingest_snapshots(healthy + dropped, is_demo=True)
        do_set_baseline(
            "system:seed_demo_telemetry", source=source, basin_coords=None, reason="demo baseline"
        )
        rolled = {"rolled_up": 0}
        while True:
            step = do_rollup_telemetry(now)
            rolled["rolled_up"] += step["rolled_up"]
            if not step["deleted"]:
                break
        self.stdout.write(
            f"Wrote {len(old) + len(healthy) + len(dropped)} demo snapshots for {source} "
            f"({rolled['rolled_up']} older than the retention rolled up). Φ drops 4 hours ago. Marked as demo data."
        )
