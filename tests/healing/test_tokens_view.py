"""The console's API tokens page: admins only, CSRF-checked forms, a key shown once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from healing.actions.tokens import do_create_token
from healing.models import ApiToken, AuditEvent, hash_key
from tests import factories

pytestmark = pytest.mark.django_db

KEY_SHOWN = re.compile(r'<code id="new-key-value">([0-9a-f]{40})</code>')


def _as(user: Any, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/patches/").status_code == 200


@pytest.mark.parametrize("persona", ["agent", "reviewer", "operator"])
def test_it_keeps_every_role_but_admin_out(persona: str, request: Any, workspace: Any) -> None:
    user = request.getfixturevalue(persona)
    victim = factories.make_user("ci-bot", role="agent")
    token, key = do_create_token("system", victim, workspaces=["demo"])
    client = _as(user)
    assert client.get("/tokens/").status_code == 403
    assert client.post("/tokens/", {"username": persona}).status_code == 403
    assert client.post(f"/tokens/{token.pk}/rotate/").status_code == 403
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 403
    assert client.post(f"/tokens/{token.pk}/grant/", {"workspaces": ""}).status_code == 403
    assert _works(key)
    assert ApiToken.objects.count() == 1
    assert list(ApiToken.objects.get().workspaces.values_list("name", flat=True)) == ["demo"]


def test_it_lists_last_use_expiry_and_grant(admin_user: Any, agent: Any, workspace: Any) -> None:
    token, key = do_create_token("system", agent, name="ci", workspaces=["demo"])
    assert _works(key)
    html = _as(admin_user).get("/tokens/").content.decode()
    row = html.split(f'id="token-{token.pk}"')[1].split("</tr>")[0]
    assert "agent-7" in row and key[:6] in row and key not in html
    assert 'value="demo"' in row
    assert "never</td>" in row  # no expiry
    assert row.count("<time") >= 2  # created and last used


def test_it_issues_a_key_shown_once_that_works(admin_user: Any, agent: Any, workspace: Any) -> None:
    response = _as(admin_user).post(
        "/tokens/",
        {"username": "agent-7", "name": "ci", "expires_days": "30", "workspaces": "demo"},
    )
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    key = KEY_SHOWN.search(response.content.decode()).group(1)  # type: ignore[union-attr]
    assert _works(key)
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert token.expires_at is not None
    assert list(token.workspaces.values_list("name", flat=True)) == ["demo"]
    assert key not in _as(admin_user).get("/tokens/").content.decode()


def test_it_refuses_bad_input_and_stores_nothing(admin_user: Any, agent: Any) -> None:
    client = _as(admin_user)
    for body in (
        {"username": "nobody"},
        {"username": "agent-7", "expires_days": "-3"},
        {"username": "agent-7", "workspaces": "no-such-ws"},
    ):
        assert client.post("/tokens/", body).status_code == 400, body
    assert not ApiToken.objects.exists()


def test_it_rotates_revokes_and_grants_from_the_page(
    admin_user: Any, agent: Any, workspace: Any
) -> None:
    token, old = do_create_token("system", agent)
    client = _as(admin_user)
    rotated = client.post(f"/tokens/{token.pk}/rotate/")
    new = KEY_SHOWN.search(rotated.content.decode()).group(1)  # type: ignore[union-attr]
    assert not _works(old) and _works(new)
    assert client.post(f"/tokens/{token.pk}/grant/", {"workspaces": "demo"}).status_code == 302
    assert list(token.workspaces.values_list("name", flat=True)) == ["demo"]
    assert client.post(f"/tokens/{token.pk}/revoke/", {"reason": "leaked"}).status_code == 302
    assert not _works(new)
    kinds = list(AuditEvent.objects.filter(actor=admin_user).values_list("kind", flat=True))
    assert sorted(kinds) == ["token.grant", "token.revoke", "token.rotate"]


def test_it_refuses_a_post_without_the_csrf_token(admin_user: Any, agent: Any) -> None:
    token, key = do_create_token("system", agent)
    client = _as(admin_user, csrf=True)
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 403
    assert client.post(f"/tokens/{token.pk}/rotate/").status_code == 403
    assert _works(key)
