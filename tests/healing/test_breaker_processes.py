"""Several real processes hammer one breaker through the shared database: exact counts, one transition.

The design's "breaker and rate-limit counts stay exact under parallel load": four processes start
together (a start file) and record overlapping shares of the same outcomes, or race for the
same rate-limit window. Prints the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.models import (
    ApplicationSlot,
    AuditEvent,
    EngineBreaker,
    ErrorTypeCircuit,
    Outcome,
    SuccessRate,
)
from tests import factories
from tests.conftest import _database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def hammer(mode: str, id_groups: list[list[int]], tmp_path: Path) -> list[dict]:
    start = tmp_path / f"start-{mode}"
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.judgement_hammer", mode, str(start), *map(str, ids)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ids in id_groups
    ]
    start.touch()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["pid"] for r in reports}) == len(procs)
    return reports


def test_it_counts_every_outcome_once_and_opens_once_under_four_processes(
    workspace: Any, tmp_path: Path
) -> None:
    do_change_setting(
        None, "breaker.logic.error_budget", 1.0
    )  # only the attempts limit (10) opens it
    ids = [factories.make_modification(workspace, error_type="logic").pk for _ in range(120)]
    # Overlapping shares: 50 of the ids are recorded by two processes, and must still count once.
    shares = [ids[:40], ids[20:70], ids[60:100], ids[90:]]
    reports = hammer("outcome", shares, tmp_path)

    assert sum(r["counted"] for r in reports) == 120
    assert Outcome.objects.count() == 120
    circuit = ErrorTypeCircuit.objects.get(workspace=workspace, error_type="logic")
    assert (circuit.attempts, circuit.failures, circuit.consecutive_failures) == (120, 120, 120)
    assert circuit.is_open and circuit.trip["value"] == 10
    assert EngineBreaker.objects.for_source("agent:factory").consecutive_failures == 120
    assert SuccessRate.objects.get().attempts == 120
    assert AuditEvent.objects.filter(kind="breaker.engine").count() == 1
    assert AuditEvent.objects.filter(kind="breaker.circuit").count() == 1
    assert list(
        AuditEvent.objects.filter(kind="breaker.workspace").values_list("from_state", "to_state")
    ) == [("CLOSED", "LOGIC_OPEN")]
    print(
        f"\nbreaker under 4 processes: {sum(len(x) for x in shares)} recordings of 120 outcomes "
        f"-> 120 counted, circuit opened once"
    )


def test_it_shares_the_rate_limit_between_processes(workspace: Any, tmp_path: Path) -> None:
    ids = [factories.make_modification(workspace).pk for _ in range(60)]
    reports = hammer("preflight", [ids[i::4] for i in range(4)], tmp_path)
    assert sum(r["counted"] for r in reports) == 10
    assert ApplicationSlot.objects.count() == 10
    print(
        f"\nrate limit under 4 processes: 60 pre-flights -> {ApplicationSlot.objects.count()} slots"
    )
