"""Dashboard render time and query count with 100,000 modifications (target: < 200 ms).

Usage: .venv/bin/python bench/console_render.py [--rows 100000] [--repeat 20]
Uses its own SQLite file under var/ unless DATABASE_URL is set (e.g. to a PostgreSQL database
of your own); the rows are created once and reused on later runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-console.sqlite3'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()  # lets the test client run on an ordinary settings module
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from healing.models import AuditEvent, Modification, Workspace

    workspace = Workspace.objects.filter(name="bench").first()
    if workspace is None:
        repo = ROOT / "var" / "bench-repo"
        if not (repo / ".git").exists():
            from tests.factories import make_git_repo

            make_git_repo(repo)
        workspace = Workspace.objects.create(name="bench", path=str(repo), branch="main")
    have = Modification.objects.count()
    if have < args.rows:
        statuses = ["applied"] * 6 + ["rejected"] * 2 + ["awaiting_approval", "blocked"]
        levels = ["SAFE", "LOW_RISK", "MEDIUM_RISK", "HIGH_RISK", "CRITICAL"]
        batch = []
        for i in range(have, args.rows):
            batch.append(
                Modification(
                    workspace=workspace,
                    patch_id=f"bench-{i}",
                    source="agent:bench",
                    language="python",
                    diff="--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n" * 20,
                    status=statuses[i % len(statuses)],
                    safety_level=levels[i % len(levels)],
                    block_reason="breaker open for logic" if i % 10 == 9 else "",
                )
            )
            if len(batch) == 5000:
                Modification.objects.bulk_create(batch)
                batch = []
        Modification.objects.bulk_create(batch)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(kind="modification.transition", actor_label="system", to_state="applied")
                for _ in range(5000)
            ]
        )
    user = get_user_model().objects.filter(username="bench-reviewer").first()
    if user is None:
        user = get_user_model().objects.create_user("bench-reviewer", password="x-bench-1")
        user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    client = Client()
    client.force_login(user)
    client.get("/")  # warm caches, templates, the session

    timings = []
    queries = set()
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get("/")
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries.add(len(captured))
    total = Modification.objects.count()
    print(
        f"database: {connection.vendor}; modifications: {total:,}; awaiting: {Modification.objects.awaiting_review().count():,}"
    )
    print(
        f"dashboard render: median {statistics.median(timings):.1f} ms, p95 {sorted(timings)[int(len(timings) * 0.95) - 1]:.1f} ms, "
        f"max {max(timings):.1f} ms over {args.repeat} renders (target < 200 ms)"
    )
    print(f"queries per render: {sorted(queries)}")
    sys.path.insert(0, str(ROOT / "bench"))
    from _table import header, med, row, spread

    header()
    median = statistics.median(timings)
    row(
        f"dashboard render with {total:,} modifications",
        med(timings, fmt=".1f"),
        spread(timings, fmt=".1f"),
        target="< 200 ms",
        met=median < 200,
    )
    row("dashboard queries per render", ", ".join(str(q) for q in sorted(queries)))

    # The review page of one patch awaiting approval, among the same 100,000 modifications.
    from django.urls import reverse

    pending = Modification.objects.awaiting_review().order_by("-pk").first()
    url = reverse("review", args=[pending.pk])
    client.get(url)
    review_times = []
    review_queries = set()
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            review_times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        review_queries.add(len(captured))
    row(
        f"review page render with {total:,} modifications",
        med(review_times, fmt=".1f"),
        spread(review_times, fmt=".1f"),
        target="< 200 ms",
        met=statistics.median(review_times) < 200,
    )
    row("review page queries per render", ", ".join(str(q) for q in sorted(review_queries)))


if __name__ == "__main__":
    main()
