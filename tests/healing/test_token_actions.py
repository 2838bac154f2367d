"""healing/actions/tokens.py: every change audited (never the key), nothing half-done."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from healing.actions.tokens import (
    UnknownWorkspace,
    do_create_token,
    do_grant_workspaces,
    do_mark_used,
    do_revoke_token,
    do_rotate_token,
)
from healing.models import ApiToken, AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_audits_each_change_without_the_key(agent: Any, admin_user: Any, workspace: Any) -> None:
    token, key = do_create_token(admin_user, agent, workspaces=["demo"])
    new = do_rotate_token(admin_user, token)
    do_grant_workspaces(admin_user, token, [])
    do_revoke_token(admin_user, token, reason="retired")
    events = list(AuditEvent.objects.filter(kind__startswith="token.").order_by("id"))
    assert [e.kind for e in events] == [
        "token.create",
        "token.rotate",
        "token.grant",
        "token.revoke",
    ]
    assert {e.actor_label for e in events} == {"user:ada-admin"}
    assert events[2].data["before"] == ["demo"] and events[2].data["after"] == []
    assert events[3].reason == "" and events[3].data["reason"] == "retired"
    assert not [e for e in events if key in str(e.data) or new in str(e.data)]


def test_it_revokes_once(agent: Any) -> None:
    token, _ = do_create_token("system", agent)
    assert do_revoke_token("system", token) is True
    assert do_revoke_token("system", ApiToken.objects.get(pk=token.pk)) is False
    assert AuditEvent.objects.filter(kind="token.revoke").count() == 1


def test_it_does_not_bring_a_revoked_token_back_by_rotating_it(agent: Any) -> None:
    token, key = do_create_token("system", agent)
    do_revoke_token("system", token)
    with pytest.raises(ValueError, match="revoked"):
        do_rotate_token("system", token)
    assert ApiToken.objects.get(pk=token.pk).prefix == key[:6]


def test_it_grants_nothing_when_one_workspace_is_unknown(
    agent: Any, workspace: Any, tmp_path: Path
) -> None:
    factories.make_workspace(tmp_path / "b", name="billing")
    token, _ = do_create_token("system", agent, workspaces=["demo"])
    with pytest.raises(UnknownWorkspace, match="nope"):
        do_grant_workspaces("system", token, ["billing", "nope"])
    assert list(token.workspaces.values_list("name", flat=True)) == ["demo"]
    with pytest.raises(UnknownWorkspace):
        do_create_token("system", agent, workspaces=["nope"])
    assert ApiToken.objects.count() == 1


def test_it_marks_the_last_use_with_a_conditional_update(agent: Any) -> None:
    token, _ = do_create_token("system", agent)
    stale = ApiToken.objects.get(pk=token.pk)  # another worker's copy, read before the mark
    start = timezone.now()
    do_mark_used(token, start)
    # The other worker does not write again within the minute...
    do_mark_used(stale, start + timedelta(seconds=30))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start
    # ...but does once the minute is over.
    do_mark_used(stale, start + timedelta(seconds=61))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start + timedelta(seconds=61)
