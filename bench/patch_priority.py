"""A patch's decision latency while 100 scheduled diagnostic runs are queued (one per newly
registered workspace, as the beat schedule queues them), with the workers `make run` starts: one
on the patch queue, one on the background queue. Patches are submitted one after another and
timed from submission to their decision (approved, awaiting approval, rejected or blocked).

The baseline is what a patch waited before the queues were split: behind every queued run in one
FIFO queue, i.e. the time the background worker needs to get through the 100 runs (measured here
from its throughput over the run of the bench).

Usage: .venv/bin/python bench/patch_priority.py [--runs 100] [--patches 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _env
from _workers import start_worker, stop_workers, wait_for_workers

DECIDED = {"approved", "awaiting_approval", "rejected", "blocked", "applied", "applying"}
TARGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--patches", type=int, default=5)
    args = parser.parse_args()
    tmp = _env.setup("priority")
    from _table import header, row

    from healing.intake.actions import do_submit_patch
    from healing.models import Modification
    from selfdebug.models import DiagnosticRun
    from selfdebug.service import schedule_due
    from tests import factories
    from tests.apply_helpers import FIX, make_repo

    agent = factories.make_user("bench-agent", role="agent")
    for n in range(args.runs):
        factories.make_workspace(
            make_repo(tmp / f"ws{n}"), name=f"ws{n}", isolation_level="partial"
        )
    queued = schedule_due()
    # One workspace per patch, registered after the schedule ran: each patch meets a clean HEAD.
    for n in range(args.patches):
        factories.make_workspace(
            make_repo(tmp / f"target{n}"), name=f"target{n}", isolation_level="partial"
        )
    print(f"diagnostic runs queued by the schedule: {len(queued)}")

    workers = [start_worker("bench-patches", "patches"), start_worker("bench-bg", "background")]
    latencies: list[float] = []
    finished_at_decision: list[int] = []
    try:
        print(f"workers answering: {wait_for_workers(2)}")
        started = time.monotonic()
        for n in range(args.patches):
            envelope = {
                "schema_version": "2.0",
                "patch_id": f"bench-prio-{n}",
                "workspace": f"target{n}",
                "language": "python",
                "error_classification": {"error_type": "logic", "severity": "medium"},
                "confidence_scoring": {"logits": [3.0, 0.2, 0.1]},
                "patch_data": {"diff": FIX},
            }
            submitted = time.monotonic()
            pk = do_submit_patch(envelope, submitted_by=agent, source="agent:bench").pk
            status = "received"
            while time.monotonic() < submitted + 600:
                status = Modification.objects.values_list("status", flat=True).get(pk=pk)
                if status in DECIDED:
                    break
                time.sleep(0.1)
            latencies.append(time.monotonic() - submitted)
            done = DiagnosticRun.objects.filter(pk__in=queued).exclude(status="queued").count()
            finished_at_decision.append(done)
            print(f"patch {n}: {status} after {latencies[-1]:.1f} s; runs taken so far: {done}")
        elapsed = time.monotonic() - started
        taken = DiagnosticRun.objects.filter(pk__in=queued).exclude(status="queued").count()
    finally:
        stop_workers(workers)
    per_run = elapsed / max(1, taken)
    fifo_wait = per_run * len(queued)
    print(
        f"background worker took {taken} of {len(queued)} runs in {elapsed:.0f} s "
        f"({per_run:.1f} s a run): a patch queued behind all of them would wait ~{fifo_wait:.0f} s"
    )
    header()
    row(
        f"patch decision latency with {len(queued)} diagnostic runs queued "
        f"({args.patches} patches, median)",
        f"{statistics.median(latencies):.1f} s",
        f"min–max {min(latencies):.1f}–{max(latencies):.1f} s",
        f"~{fifo_wait:.0f} s behind the runs in one FIFO queue "
        f"(×{fifo_wait / statistics.median(latencies):.0f})",
        f"< {TARGET_S:.0f} s",
        max(latencies) < TARGET_S,
    )


if __name__ == "__main__":
    main()
