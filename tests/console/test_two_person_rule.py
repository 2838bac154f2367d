"""CRITICAL needs two distinct people: never the submitter, never an agent account, never one
person twice."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.actions import ApprovalRefused, do_approve
from healing.models import Modification
from tests import factories
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def _also(user: Any, role: str) -> Any:
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return get_user_model().objects.get(pk=user.pk)  # roles are cached on the instance


def test_it_does_not_count_an_agent_account_that_also_holds_the_reviewer_role(
    workspace: Any, reviewer: Any
) -> None:
    bot = _also(factories.make_user("bot-9", role="agent"), "reviewer")
    mod = awaiting(workspace, "CRITICAL")
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, bot, "lgtm")
    assert refused.value.code == "forbidden"
    do_approve(mod, reviewer, "checked")
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


def test_it_does_not_let_the_submitter_approve_a_patch_sent_under_its_name(
    workspace: Any, reviewer: Any
) -> None:
    # No submitted_by (a cli: submission), but the source names the reviewer.
    mod = awaiting(workspace, "CRITICAL", source=f"cli:{reviewer.get_username()}")
    with pytest.raises(ApprovalRefused) as refused:
        do_approve(mod, reviewer, "mine")
    assert refused.value.code == "own_submission"


def test_it_needs_two_different_people(workspace: Any, reviewer: Any, second_reviewer: Any) -> None:
    mod = awaiting(workspace, "CRITICAL")
    do_approve(mod, reviewer, "one")
    do_approve(mod, reviewer, "one again")
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    do_approve(mod, second_reviewer, "two")
    assert Modification.objects.get(pk=mod.pk).status == "approved"
