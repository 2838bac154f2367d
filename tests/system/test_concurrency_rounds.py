"""Races on PostgreSQL, 50 rounds each: two reviewers approving the same patch at the
same instant, two workers claiming the same received patch (process_modification's conditional
transition), and two workers claiming the same sandbox run (sandbox_modification's claim).
Exactly one winner per round, every round. Prints the rounds and the winners counted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from approvals.actions import ApprovalRefused, do_approve
from approvals.models import Approval
from healing.claims import claim as _claim
from healing.claims import release as _release
from healing.intake.actions import do_process_modification
from healing.models import AuditEvent, Modification
from tests import factories
from tests.console_helpers import awaiting
from tests.intake_helpers import FIX_DIFF

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROUNDS = 50


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite serialises every writer (IMMEDIATE transactions), so there is no race to "
            "lose; these rounds run on PostgreSQL in CI"
        )


def _race(first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """Run both at the same instant in two threads (two database connections)."""
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the loser's refusal is a result
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_it_approves_exactly_once_when_two_reviewers_click_together_50_times(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    winners_per_round = []
    for _ in range(ROUNDS):
        mod = awaiting(workspace, "LOW_RISK")
        results = _race(
            lambda pk=mod.pk: do_approve(Modification.objects.get(pk=pk), reviewer, "ok"),
            lambda pk=mod.pk: do_approve(Modification.objects.get(pk=pk), second_reviewer, "ok"),
        )
        winners = [r for r in results if not isinstance(r, Exception) and r.transitioned]
        losers = [r for r in results if isinstance(r, ApprovalRefused)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].code == "already_decided"
        assert AuditEvent.objects.filter(modification=mod, to_state="approved").count() == 1
        assert Approval.objects.filter(modification=mod).count() == 1
        assert Modification.objects.get(pk=mod.pk).status == "approved"
        winners_per_round.append(len(winners))
    print(
        f"\napproval races: {ROUNDS} rounds, exactly one approval in {winners_per_round.count(1)}"
    )
    assert winners_per_round == [1] * ROUNDS


def test_it_lets_exactly_one_worker_claim_a_received_patch_50_times(workspace: Any) -> None:
    claimed = []
    for i in range(ROUNDS):
        mod = factories.make_modification(workspace, diff=FIX_DIFF, patch_id=f"race-{i}")
        results = _race(
            lambda pk=mod.pk: do_process_modification(pk),
            lambda pk=mod.pk: do_process_modification(pk),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert AuditEvent.objects.filter(modification=mod, to_state="validating").count() == 1
        assert Modification.objects.get(pk=mod.pk).status != "validating"
        claimed.append(len(winners))
    print(f"\nintake claims: {ROUNDS} rounds, exactly one claim in {claimed.count(1)}")
    assert claimed == [1] * ROUNDS


def test_it_lets_exactly_one_worker_claim_a_sandbox_run_50_times(workspace: Any) -> None:
    claimed = []
    for i in range(ROUNDS):
        mod = factories.make_modification(workspace, diff=FIX_DIFF, patch_id=f"sandbox-race-{i}")
        results = _race(
            lambda pk=mod.pk: _claim("sandbox", pk, 60), lambda pk=mod.pk: _claim("sandbox", pk, 60)
        )
        assert sorted(results) == [False, True], results
        _release("sandbox", mod.pk)
        claimed.append(results.count(True))
    print(f"\nsandbox claims: {ROUNDS} rounds, exactly one claim in {claimed.count(1)}")
    assert claimed == [1] * ROUNDS
