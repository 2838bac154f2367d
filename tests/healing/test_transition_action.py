from __future__ import annotations

from typing import Any

import pytest

from healing.actions import ConcurrentTransition, transition
from healing.models import AuditEvent, InvalidTransition, Modification
from healing.models.modification import TRANSITIONS, ModificationStatus
from tests import factories

S = ModificationStatus


def test_it_walks_the_happy_path_with_one_event_per_step(workspace: Any, reviewer: Any) -> None:
    mod = factories.make_modification(workspace)
    for to in (S.VALIDATING, S.SANDBOXING, S.AWAITING_APPROVAL):
        transition(mod, to, "system", f"to {to}")
    transition(mod, S.APPROVED, reviewer, "looks right")
    for to in (S.APPLYING, S.APPLIED, S.ROLLED_BACK):
        transition(mod, to, "system")
    mod.refresh_from_db()
    assert mod.status == S.ROLLED_BACK
    events = list(AuditEvent.objects.for_modification(mod.pk))
    assert [(e.from_state, e.to_state) for e in events] == [
        ("received", "validating"),
        ("validating", "sandboxing"),
        ("sandboxing", "awaiting_approval"),
        ("awaiting_approval", "approved"),
        ("approved", "applying"),
        ("applying", "applied"),
        ("applied", "rolled_back"),
    ]
    assert events[3].actor_label == "user:rita-reviewer"
    assert events[3].reason == "looks right"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.RECEIVED, S.APPLIED),
        (S.REJECTED, S.VALIDATING),
        (S.APPLIED, S.APPROVED),
        (S.SANDBOXING, S.APPLYING),
    ],
)
def test_it_raises_on_an_invalid_transition_and_changes_nothing(
    workspace: Any, start: str, target: str
) -> None:
    mod = factories.make_modification(workspace, status=start)
    with pytest.raises(InvalidTransition):
        transition(mod, target, "system")
    assert Modification.objects.get(pk=mod.pk).status == start
    assert not AuditEvent.objects.filter(modification=mod).exists()


def test_it_lets_only_one_of_two_racing_callers_win(workspace: Any) -> None:
    mod = factories.make_modification(workspace, status=S.AWAITING_APPROVAL)
    stale_copy = Modification.objects.get(pk=mod.pk)
    transition(mod, S.APPROVED, "system")
    with pytest.raises(ConcurrentTransition):
        transition(stale_copy, S.APPROVED, "system")
    assert AuditEvent.objects.filter(modification=mod, to_state=S.APPROVED).count() == 1


def test_it_remembers_which_stage_a_block_interrupted(workspace: Any) -> None:
    mod = factories.make_modification(workspace, status=S.SANDBOXING)
    transition(mod, S.BLOCKED, "system", "circuit breaker open", block_reason="breaker logic open")
    mod.refresh_from_db()
    assert mod.blocked_from == S.SANDBOXING
    assert mod.block_reason == "breaker logic open"


def test_it_keeps_the_public_status_names() -> None:
    assert {s.value for s in S} == {
        "received",
        "validating",
        "rejected",
        "sandboxing",
        "awaiting_approval",
        "approved",
        "applying",
        "applied",
        "failed",
        "rolled_back",
        "blocked",
        "cancelled",
    }
    assert set(TRANSITIONS) == {s.value for s in S}
