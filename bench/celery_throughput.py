"""Patches per minute through two real Celery worker processes, submission to decision.

    .venv/bin/python bench/celery_throughput.py [--patches 10]

Starts two `celery worker --pool solo` processes (as tests/conftest.py does) against a throwaway
database and a private embedded Redis, submits N small real fixes (each to its own demo-like
git repository, PARTIAL isolation) through do_submit_patch, whose on_commit queues
process_modification; the workers then validate, sandbox and decide (and apply what they approve,
which shares the same two workers). The figure is N / (time from the first submission to the
last decision) × 60. Also the median per-patch submission-to-decision time under that load."""

from __future__ import annotations

import argparse
import statistics
import time

import _env
from _workers import start_worker, wait_for_workers

from tests.services_helpers import stop

UNDECIDED = {"received", "validating", "sandboxing"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patches", type=int, default=10)
    args = parser.parse_args()
    tmp = _env.setup("celery")
    from _table import header, row
    from django.db import transaction
    from django.utils import timezone

    from healing.intake.actions import do_submit_patch
    from healing.models import AuditEvent, Modification
    from tests import factories
    from tests.apply_helpers import FIX, make_repo

    workers = [start_worker("bench-a"), start_worker("bench-b")]
    try:
        print(f"workers answering: {wait_for_workers(2)}")
        agent = factories.make_user("bench-agent", role="agent")
        envelopes = []
        for n in range(args.patches):
            repo = make_repo(tmp / f"repo{n}")
            factories.make_workspace(repo, name=f"demo{n}", isolation_level="partial")
            envelopes.append(
                {
                    "schema_version": "2.0",
                    "patch_id": f"bench-tp-{n}",
                    "workspace": f"demo{n}",
                    "language": "python",
                    "error_classification": {"error_type": "logic", "severity": "medium"},
                    "confidence_scoring": {"logits": [3.0, 0.2, 0.1]},
                    "patch_data": {"diff": FIX},
                }
            )
        started = time.perf_counter()
        submitted_at = {}
        for env in envelopes:
            with transaction.atomic():
                mod = do_submit_patch(env, submitted_by=agent, source="agent:bench")
            submitted_at[mod.pk] = timezone.now()
        decided_at: dict[int, float] = {}
        limit = time.monotonic() + 100
        while len(decided_at) < len(submitted_at) and time.monotonic() < limit:
            for pk, status in Modification.objects.filter(pk__in=submitted_at).values_list(
                "pk", "status"
            ):
                if status not in UNDECIDED and pk not in decided_at:
                    decided_at[pk] = time.perf_counter()
            time.sleep(0.1)
        elapsed = (max(decided_at.values()) if decided_at else time.perf_counter()) - started
        statuses = sorted(
            set(Modification.objects.filter(pk__in=submitted_at).values_list("status", flat=True))
        )
        # Per-patch latency from the audit trail: received → first decision event.
        per_patch = []
        for pk, at in submitted_at.items():
            event = (
                AuditEvent.objects.filter(
                    modification_id=pk,
                    to_state__in=["approved", "rejected", "awaiting_approval", "blocked"],
                )
                .order_by("id")
                .first()
            )
            if event is not None:
                per_patch.append((event.created_at - at).total_seconds())
    finally:
        for w in workers:
            stop(w)
    decided = len(decided_at)
    rate = decided / elapsed * 60
    print(
        f"{decided}/{args.patches} decided in {elapsed:.1f} s; final states: {', '.join(statuses)}"
    )
    header()
    row(
        f"patches per minute through two Celery workers (PARTIAL, {decided}/{args.patches} decided)",
        f"{rate:.1f} /min",
        "one run",
    )
    if per_patch:
        row(
            "submission → decision under that load, per patch",
            f"{statistics.median(per_patch):.1f} s",
            f"min–max {min(per_patch):.1f}–{max(per_patch):.1f} s",
        )


if __name__ == "__main__":
    main()
