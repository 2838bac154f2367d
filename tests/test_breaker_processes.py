"""Several real processes hammer one breaker through the shared database: exact counts, one transition."""

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

ROOT = Path(__file__).resolve().parent.parent


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


def test_it_counts_every_outcome_once_and_opens_once_under_three_processes(
    workspace: Any, tmp_path: Path
) -> None:
    do_change_setting(
        None, "breaker.logic.error_budget", 1.0
    )  # only the attempts limit (10) opens it
    ids = [factories.make_modification(workspace, error_type="logic").pk for _ in range(45)]
    # Overlapping shares: ids 10–34 are recorded by two processes, and must still count once.
    reports = hammer("outcome", [ids[:25], ids[10:35], ids[35:]], tmp_path)

    assert sum(r["counted"] for r in reports) == 45
    assert Outcome.objects.count() == 45
    circuit = ErrorTypeCircuit.objects.get(workspace=workspace, error_type="logic")
    assert (circuit.attempts, circuit.failures, circuit.consecutive_failures) == (45, 45, 45)
    assert circuit.is_open and circuit.trip["value"] == 10
    assert EngineBreaker.objects.current().consecutive_failures == 45
    assert SuccessRate.objects.get().attempts == 45
    assert AuditEvent.objects.filter(kind="breaker.engine").count() == 1
    assert AuditEvent.objects.filter(kind="breaker.circuit").count() == 1
    assert list(
        AuditEvent.objects.filter(kind="breaker.workspace").values_list("from_state", "to_state")
    ) == [("CLOSED", "LOGIC_OPEN")]


def test_it_shares_the_rate_limit_between_processes(workspace: Any, tmp_path: Path) -> None:
    ids = [factories.make_modification(workspace).pk for _ in range(30)]
    reports = hammer("preflight", [ids[:15], ids[15:]], tmp_path)
    assert sum(r["counted"] for r in reports) == 10
    assert ApplicationSlot.objects.count() == 10
