"""The workspaces page with 1,000 workspaces and their patches: queries and time per render.

Usage: .venv/bin/python bench/workspaces_page.py [--workspaces 1000] [--patches 20] [--repeat 20]
       [--heavy 100000]
A throwaway SQLite database (bench/_env.py) unless DATABASE_URL is set. Renders the first page,
a search, a late page and the isolation filter, then the dashboard whose sandbox panel summarises
the same workspaces, and last the first page again once one of its workspaces has 100,000
patches; the query count must not depend on the number of workspaces (target: the
same count at 10 and at 1,000) and a render should stay under 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _env  # noqa: E402
from _table import header, med, row, spread  # noqa: E402


def _measure(client: Any, url: str, repeat: int) -> tuple[list[float], set[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm the templates and the session
    timings: list[float] = []
    queries: set[int] = set()
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries.add(len(captured))
    return timings, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--patches", type=int, default=20, help="patches per workspace")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--heavy", type=int, default=100_000, help="patches of one workspace on the first page"
    )
    args = parser.parse_args()

    _env.setup("workspaces")
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client run on an ordinary settings module
    from healing.breakers.actions import do_workspace_breaker_action
    from healing.models import Modification, Workspace
    from monitoring.actions import do_take_system_snapshot
    from tests import factories

    admin = factories.make_user("bench-admin", role="admin")
    reviewer = factories.make_user("bench-reviewer", role="reviewer")
    client = Client()
    client.force_login(reviewer)

    pages = {
        "first page": "/workspaces/",
        "search (name or path)": "/workspaces/?q=-0000",
        "page 15 of 20": "/workspaces/?page=15",
        "isolation=none filter": "/workspaces/?isolation=none",
        "dashboard (sandbox panel summary)": "/",
    }
    results: dict[int, dict[str, tuple[list[float], set[int]]]] = {}
    made = 0
    for size in (10, args.workspaces):
        created = factories.bulk_workspaces(size - made, args.patches, prefix=f"fleet{size}")
        made = size
        for w in created[::25]:  # some breakers open, through the real action
            do_workspace_breaker_action(admin, w.pk, "force-open", "bench", "logic")
        # What beat does in production: without a recent system snapshot the health panel
        # measures the host itself (a 0.25 s CPU sample) on every dashboard render.
        do_take_system_snapshot(0.1)
        results[size] = {name: _measure(client, url, args.repeat) for name, url in pages.items()}
    # Names of the fleet: "fleet10-…" and "fleet1000-…"; the search above matches the large one.
    print(
        f"database: {Workspace.objects.count():,} workspaces, "
        f"{Modification.objects.count():,} modifications; {args.repeat} renders each"
    )
    for size, by_page in results.items():
        for name, (timings, queries) in by_page.items():
            print(
                f"{size:>5} workspaces · {name}: median {statistics.median(timings):.1f} ms, "
                f"queries {sorted(queries)}"
            )
    # One workspace on the first page with a long history: its latest patches must not cost it.
    first = Workspace.objects.order_by("name").first()
    assert first is not None
    factories.bulk_modifications(first, args.heavy)
    heavy_times, heavy_queries = _measure(client, "/workspaces/", args.repeat)
    # The sandbox panel alone: the dashboard's time is mostly its other panels.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from approvals.panels import SandboxPanel

    panel_times: list[float] = []
    with CaptureQueriesContext(connection) as captured:
        SandboxPanel().context()
    for _ in range(args.repeat):
        start = time.perf_counter()
        SandboxPanel().context()
        panel_times.append((time.perf_counter() - start) * 1000)
    header()
    row(
        f"sandbox panel context with {args.workspaces:,} workspaces",
        med(panel_times, fmt=".1f"),
        spread(panel_times, fmt=".1f"),
        baseline=f"{len(captured)} queries",
        target="< 20 ms",
        met=statistics.median(panel_times) < 20,
    )
    row(
        f"first page, one of its workspaces with {args.heavy:,} patches",
        med(heavy_times, fmt=".1f"),
        spread(heavy_times, fmt=".1f"),
        baseline=f"{', '.join(str(q) for q in sorted(heavy_queries))} queries",
        target="< 200 ms",
        met=statistics.median(heavy_times) < 200,
    )
    large = results[args.workspaces]
    small = results[10]
    for name, (timings, queries) in large.items():
        row(
            f"{name} with {args.workspaces:,} workspaces",
            med(timings, fmt=".1f"),
            spread(timings, fmt=".1f"),
            baseline=f"{statistics.median(small[name][0]):.1f} ms at 10",
            target="< 200 ms",
            met=statistics.median(timings) < 200,
        )
        row(
            f"{name} queries per render",
            ", ".join(str(q) for q in sorted(queries)),
            baseline=f"{', '.join(str(q) for q in sorted(small[name][1]))} at 10",
            target="same as at 10",
            met=queries == small[name][1],
        )


if __name__ == "__main__":
    main()
