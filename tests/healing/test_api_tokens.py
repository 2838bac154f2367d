"""API keys as an engine uses them: scoped to workspaces, expiring, rotated, revoked, and
showing when they were last used. Each test is an attack or a misuse that must fail."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from healing.actions.tokens import do_create_token, do_revoke_token, do_rotate_token
from healing.models import ApiToken, AuditEvent, Modification, Workspace, hash_key
from tests import factories
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _submit(key: str, workspace: str) -> Any:
    return _client(key).post("/api/v1/patches/", envelope(workspace=workspace), format="json")


@pytest.fixture
def three(tmp_path: Path, workspace: Any) -> list[str]:
    factories.make_workspace(tmp_path / "b", name="billing")
    factories.make_workspace(tmp_path / "c", name="crm")
    return ["demo", "billing", "crm"]


def test_it_refuses_a_workspace_outside_the_grant_with_a_403_naming_the_grant(
    agent: Any, three: list[str]
) -> None:
    _, key = do_create_token("user:ada", agent, workspaces=["demo", "billing"])
    response = _submit(key, "crm")
    assert response.status_code == 403, response.content
    assert response.json()["fields"]["workspace"] == ["This token may submit to: billing, demo."]
    assert "billing, demo" in response.json()["detail"]
    assert not Modification.objects.exists()
    assert _submit(key, "billing").status_code == 201


def test_it_lets_a_token_without_a_grant_reach_every_workspace(
    agent: Any, three: list[str]
) -> None:
    _, key = do_create_token("user:ada", agent)
    assert [_submit(key, name).status_code for name in three] == [201, 201, 201]


def test_it_holds_each_key_to_its_own_grant_not_the_accounts(agent: Any, three: list[str]) -> None:
    _, ci_key = do_create_token("user:ada", agent, workspaces=["demo"])
    _, nightly_key = do_create_token("user:ada", agent, workspaces=["crm"])
    assert _submit(ci_key, "crm").status_code == 403
    assert _submit(nightly_key, "demo").status_code == 403
    assert _submit(ci_key, "demo").status_code == 201
    assert _submit(nightly_key, "crm").status_code == 201


def test_it_keeps_a_granted_workspace_from_tokens_without_a_grant(
    agent: Any, three: list[str]
) -> None:
    owner = factories.make_user("agent-owner", role="agent")
    do_create_token("user:ada", owner, workspaces=["billing"])
    _, key = do_create_token("user:ada", agent)
    refused = _submit(key, "billing")
    assert refused.status_code == 403
    assert "reserved" in refused.json()["fields"]["workspace"][0]
    assert _submit(key, "crm").status_code == 201


def test_it_refuses_an_expired_token_with_a_401_that_says_so(agent: Any, workspace: Any) -> None:
    _, key = do_create_token("user:ada", agent, expires_at=timezone.now() + timedelta(seconds=1))
    assert _client(key).get("/api/v1/patches/").status_code == 200
    time.sleep(1.1)
    response = _client(key).get("/api/v1/patches/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"
    assert _submit(key, "demo").status_code == 401
    assert not Modification.objects.exists()


def test_it_kills_the_old_key_at_once_on_rotation(agent: Any, workspace: Any) -> None:
    token, old = do_create_token("user:ada", agent, workspaces=["demo"])
    assert _client(old).get("/api/v1/patches/").status_code == 200
    new = do_rotate_token("user:ada", token)
    assert _client(old).get("/api/v1/patches/").status_code == 401
    assert _client(new).get("/api/v1/patches/").status_code == 200
    # The grant goes with the token, not the key.
    assert _submit(new, "demo").status_code == 201


def test_it_refuses_a_revoked_token_with_a_401_that_says_so(agent: Any, workspace: Any) -> None:
    token, key = do_create_token("user:ada", agent)
    do_revoke_token("user:ada", token, reason="leaked in a CI log")
    response = _submit(key, "demo")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert not Modification.objects.exists()


def test_it_stores_only_a_hash_of_the_key(agent: Any) -> None:
    token, key = do_create_token("user:ada", agent)
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(v) for v in row.values()}
    assert row["key_hash"] == hash_key(key)
    assert not any(key in str(e.data) for e in AuditEvent.objects.all())


def test_it_records_the_last_use_at_most_once_a_minute(agent: Any) -> None:
    token, key = do_create_token("user:ada", agent)
    assert token.last_used_at is None
    before = timezone.now()
    assert _client(key).get("/api/v1/patches/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= before
    first = token.last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert _client(key).get("/api/v1/patches/").status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    token.refresh_from_db()
    assert token.last_used_at == first


def test_it_creates_an_api_user_bound_to_workspaces(three: list[str]) -> None:
    out = StringIO()
    call_command(
        "create_api_user", "ci-bot", "--role", "agent", "--workspace", "demo",
        "--workspace", "crm", "--expires-days", "30", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    key = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert sorted(token.workspaces.values_list("name", flat=True)) == ["crm", "demo"]
    assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=29)
    refused = _submit(key, "billing")
    assert refused.json()["fields"]["workspace"] == ["This token may submit to: crm, demo."]
    assert _submit(key, "crm").status_code == 201


def test_it_refuses_an_unknown_workspace_and_creates_nothing(workspace: Any) -> None:
    with pytest.raises(CommandError, match="No such workspace: nope"):
        call_command(
            "create_api_user", "ci-bot", "--role", "agent", "--workspace", "nope",
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.filter(username="ci-bot").exists()


def test_it_rotates_and_revokes_from_manage_py(agent: Any, workspace: Any) -> None:
    _, old = do_create_token("user:ada", agent)
    out = StringIO()
    call_command("rotate_api_token", "agent-7", stdout=out, stderr=StringIO())
    new = out.getvalue().strip().splitlines()[-1]
    assert _client(old).get("/api/v1/patches/").status_code == 401
    assert _client(new).get("/api/v1/patches/").status_code == 200
    call_command("revoke_api_token", "agent-7", "--reason", "engine retired", stdout=StringIO())
    assert _client(new).get("/api/v1/patches/").status_code == 401
    with pytest.raises(CommandError, match="no live API token"):
        call_command("rotate_api_token", "agent-7", stdout=StringIO(), stderr=StringIO())


def test_it_does_not_open_every_workspace_when_the_granted_ones_are_deleted(
    agent: Any, three: list[str], admin_user: Any
) -> None:
    _, key = do_create_token("user:ada", agent, workspaces=["crm"])
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    site = Client()
    site.force_login(admin_user)
    crm = Workspace.objects.get(name="crm")
    assert (
        site.post(f"/admin/healing/workspace/{crm.pk}/delete/", {"post": "yes"}).status_code == 302
    )
    assert not Workspace.objects.filter(name="crm").exists()
    refused = _submit(key, "demo")
    assert refused.status_code == 403
    assert "no workspace" in refused.json()["fields"]["workspace"][0]
