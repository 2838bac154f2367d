from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from approvals.actions import (
    ApprovalRefused,
    approval_round,
    do_approve,
    do_bulk_approve,
    do_reject,
)
from approvals.models import Approval
from healing.actions import do_change_setting, transition
from healing.models import AuditEvent, Modification
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def test_it_approves_a_medium_patch_with_one_click(
    workspace: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = do_approve(mod, reviewer, "")
    assert outcome.transitioned and outcome.approvals == 1 and outcome.needed == 1
    mod.refresh_from_db()
    assert mod.status == "approved"
    assert Approval.objects.get(modification=mod).user == reviewer
    # The apply is queued after commit (the broadcast and the apply task).
    assert len(callbacks) >= 2
    kinds = list(AuditEvent.objects.for_modification(mod.pk).values_list("kind", "to_state"))
    assert ("modification.approval", "") in kinds and (
        "modification.transition",
        "approved",
    ) in kinds


def test_it_is_idempotent_for_the_same_reviewer(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    do_approve(mod, reviewer)
    again = do_approve(mod, reviewer)
    assert not again.transitioned
    assert "already approved" in again.message
    assert Approval.objects.filter(modification=mod).count() == 1
    assert AuditEvent.objects.filter(modification=mod, to_state="approved").count() == 1


def test_it_tells_the_second_reviewer_it_was_already_approved(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    do_approve(mod, reviewer)
    stale_copy = Modification.objects.get(pk=mod.pk)
    stale_copy.status = "awaiting_approval"  # what the loser's page still shows
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(stale_copy, second_reviewer)
    assert refused.value.code == "already_decided"
    assert "already approved by rita-reviewer" in refused.value.message
    assert Approval.objects.filter(modification=mod).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_gives_exactly_one_transition_when_two_reviewers_race(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite serialises writers with IMMEDIATE transactions; the race needs PostgreSQL"
        )
    mod = awaiting(workspace, "LOW_RISK")
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def click(user: Any) -> None:
        try:
            barrier.wait()
            results[user.username] = do_approve(Modification.objects.get(pk=mod.pk), user, "ok")
        except ApprovalRefused as exc:
            results[user.username] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(u,)) for u in (reviewer, second_reviewer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [r for r in results.values() if not isinstance(r, ApprovalRefused) and r.transitioned]
    losers = [r for r in results.values() if isinstance(r, ApprovalRefused)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].code == "already_decided"
    assert AuditEvent.objects.filter(modification=mod, to_state="approved").count() == 1


def test_it_needs_two_different_people_for_critical(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "CRITICAL")
    first = do_approve(mod, reviewer, "looked at it")
    assert not first.transitioned and first.approvals == 1 and first.needed == 2
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    # The same person clicking again does not count twice.
    assert not do_approve(mod, reviewer, "again").transitioned
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    second = do_approve(mod, second_reviewer, "agreed")
    assert second.transitioned and second.approvals == 2
    assert Modification.objects.get(pk=mod.pk).status == "approved"


def test_it_needs_one_approval_for_critical_when_the_admin_turns_the_option_off(
    workspace: Any, reviewer: Any, admin_user: Any
) -> None:
    do_change_setting(admin_user, "safety.critical_two_approvals", False)
    mod = awaiting(workspace, "CRITICAL")
    assert do_approve(mod, reviewer, "one is enough now").transitioned


@pytest.mark.parametrize("level", ["HIGH_RISK", "CRITICAL"])
def test_it_requires_a_comment_for_high_risk_and_critical(
    workspace: Any, reviewer: Any, level: str
) -> None:
    mod = awaiting(workspace, level)
    for action in (do_approve, do_reject):
        with pytest.raises(ApprovalRefused) as refused:
            action(mod, reviewer, "   ")
        assert refused.value.code == "comment_required"
    assert not Approval.objects.exists()


def test_it_refuses_an_approval_of_ones_own_submission(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK", submitted_by=reviewer)
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, reviewer, "mine")
    assert refused.value.code == "own_submission"
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


@pytest.mark.parametrize("persona", ["agent", "outsider"])
def test_it_refuses_those_without_the_reviewer_role(
    workspace: Any, request: Any, persona: str
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, request.getfixturevalue(persona))
    assert refused.value.code == "forbidden"


def test_it_refuses_a_patch_that_was_blocked_meanwhile(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    transition(
        Modification.objects.get(pk=mod.pk),
        "blocked",
        "system",
        block_reason="breaker open for logic",
    )
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, reviewer)
    assert refused.value.code == "stale"
    assert "blocked" in refused.value.message and "breaker open for logic" in refused.value.message


def test_it_asks_for_fresh_approvals_after_the_patch_went_back_to_validation(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "CRITICAL")
    do_approve(mod, reviewer, "first look")
    # HEAD moved: the patch is checked again and held again; the old approval is not counted.
    for status in ("validating", "sandboxing", "awaiting_approval"):
        transition(Modification.objects.get(pk=mod.pk), status, "system")
    outcome = do_approve(mod, second_reviewer, "second look")
    assert not outcome.transitioned and outcome.approvals == 1


def test_it_rejects_with_one_click_and_refuses_a_later_approval(
    workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "HIGH_RISK")
    outcome = do_reject(mod, reviewer, "touches auth without tests")
    assert outcome.transitioned
    assert Modification.objects.get(pk=mod.pk).status == "rejected"
    assert do_reject(mod, reviewer, "again").transitioned is False
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, second_reviewer, "too late")
    assert refused.value.code == "stale"


def test_it_bulk_approves_only_low_and_medium(workspace: Any, reviewer: Any) -> None:
    low = awaiting(workspace, "LOW_RISK")
    medium = awaiting(workspace, "MEDIUM_RISK")
    high = awaiting(workspace, "HIGH_RISK")
    results = {
        r.modification_id: r
        for r in do_bulk_approve([low.pk, medium.pk, high.pk, 999999], reviewer)
    }
    assert results[low.pk].ok and results[medium.pk].ok
    assert not results[high.pk].ok and "own page" in results[high.pk].message
    assert not results[999999].ok
    statuses = dict(Modification.objects.values_list("pk", "status"))
    assert statuses[low.pk] == statuses[medium.pk] == "approved"
    assert statuses[high.pk] == "awaiting_approval"


def test_it_keeps_the_other_approvals_when_one_in_a_bulk_is_refused(
    workspace: Any, reviewer: Any
) -> None:
    mine = awaiting(workspace, "LOW_RISK", submitted_by=reviewer)
    other = awaiting(workspace, "LOW_RISK")
    results = do_bulk_approve([mine.pk, other.pk], reviewer)
    assert [r.ok for r in results] == [False, True]


def test_it_refuses_a_decision_on_a_version_the_reviewer_did_not_see(
    workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    seen = approval_round(mod.pk)
    for status in ("validating", "sandboxing", "awaiting_approval"):
        transition(Modification.objects.get(pk=mod.pk), status, "system")
    for action in (do_approve, do_reject):
        with pytest.raises(ApprovalRefused) as refused:
            action(mod, reviewer, "looked fine", seen_round=seen)
        assert (
            refused.value.code == "changed"
            and "changed since you opened it" in refused.value.message
        )
    assert do_approve(mod, reviewer, "looked again", seen_round=seen + 1).transitioned
