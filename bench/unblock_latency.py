"""From a lift to the held patches moving: 50 patches held at intake by an emergency stop (then
by an engine's open breaker), one real Celery worker on the patch queue. Measured per patch from
the lift (the resume click, the breaker reset) to its `modification.unblocked` event (blocked →
received, sent by the lift on commit) and to the worker starting its validation again.

Usage: .venv/bin/python bench/unblock_latency.py [--held 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import _env
from _workers import start_worker, stop_workers, wait_for_workers

TARGET_S = 5.0  # the "within seconds"


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(sorted(samples), n=100)[q - 1] if len(samples) > 1 else samples[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held", type=int, default=50)
    args = parser.parse_args()
    tmp = _env.setup("unblock")
    from _table import header, row

    from healing.actions import do_emergency_stop, do_resume
    from healing.breakers import record_outcome
    from healing.breakers.actions import do_engine_breaker_action
    from healing.intake.actions import do_submit_patch
    from healing.models import AuditEvent, Modification
    from selfheal_site.celery import app
    from tests import factories
    from tests.apply_helpers import FIX, make_repo

    admin = factories.make_user("bench-admin", role="admin")
    operator = factories.make_user("bench-operator", role="operator")
    agent = factories.make_user("bench-agent", role="agent")

    def hold(name: str, source: str) -> list[int]:
        factories.make_workspace(make_repo(tmp / name), name=name, isolation_level="partial")
        pks = []
        for n in range(args.held):
            envelope = {
                "schema_version": "2.0",
                "patch_id": f"{name}-{n}",
                "workspace": name,
                "language": "python",
                "error_classification": {"error_type": "logic", "severity": "medium"},
                "confidence_scoring": {"logits": [3.0, 0.2, 0.1]},
                "patch_data": {"diff": FIX},
            }
            pks.append(do_submit_patch(envelope, submitted_by=agent, source=source).pk)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            blocked = Modification.objects.filter(pk__in=pks, status="blocked").count()
            if blocked == len(pks):
                return pks
            time.sleep(0.2)
        raise SystemExit(f"only {blocked} of {len(pks)} were blocked")

    def measure(pks: list[int], lifted_at: float) -> tuple[list[float], list[float]]:
        moved: dict[int, float] = {}
        validating: dict[int, float] = {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(validating) < len(pks):
            for event in AuditEvent.objects.filter(
                modification_id__in=pks, kind__in=["modification.unblocked"]
            ).values("modification_id", "created_at"):
                moved.setdefault(event["modification_id"], event["created_at"].timestamp())
            for event in AuditEvent.objects.filter(
                modification_id__in=pks,
                kind="modification.transition",
                from_state="received",
                to_state="validating",
                created_at__gte=datetime.fromtimestamp(lifted_at, tz=UTC),
            ).values("modification_id", "created_at"):
                validating.setdefault(event["modification_id"], event["created_at"].timestamp())
            time.sleep(0.1)
        return [t - lifted_at for t in moved.values()], [t - lifted_at for t in validating.values()]

    results: list[tuple[str, list[float], list[float]]] = []
    workers = [start_worker("bench-patches", "patches")]
    try:
        print(f"workers answering: {wait_for_workers(1)}")
        # 1. The emergency stop: everything submitted meanwhile is held at intake.
        do_emergency_stop(operator, "bench: held patches")
        pks = hold("stop", "agent:bench-stop")
        lifted_at = time.time()
        do_resume(operator, "bench: resume")
        results.append(("emergency stop resumed", *measure(pks, lifted_at)))
        stop_workers(workers)
        app.control.purge()  # the first batch's validations and sandboxes are not measured

        # 2. An engine's breaker, opened by its failures, then reset by an admin.
        workers = [start_worker("bench-patches-2", "patches")]
        wait_for_workers(1)
        ws = factories.make_workspace(make_repo(tmp / "fails"), name="fails")
        for _ in range(5):
            failed = factories.make_modification(ws, source="agent:bench-breaker")
            record_outcome(failed, success=False, stage="apply")
        pks = hold("breaker", "agent:bench-breaker")
        lifted_at = time.time()
        do_engine_breaker_action(admin, "reset", "bench: reset", "agent:bench-breaker")
        results.append(("engine breaker reset", *measure(pks, lifted_at)))
    finally:
        stop_workers(workers)

    header()
    for lift, moved, validating in results:
        for label, samples in (("moved out of blocked", moved), ("validation started", validating)):
            if len(samples) < 2:
                row(f"{lift} → {label} ({len(samples)}/{args.held})", "n/a")
                continue
            p50, p95 = pct(samples, 50), pct(samples, 95)
            row(
                f"{lift} → {label}, {len(samples)}/{args.held} held patches (p50)",
                f"{p50:.2f} s",
                f"p95 {p95:.2f} s, max {max(samples):.2f} s",
                "—",
                f"p95 < {TARGET_S:.0f} s" if label == "moved out of blocked" else "—",
                p95 < TARGET_S if label == "moved out of blocked" else None,
            )


if __name__ == "__main__":
    main()
