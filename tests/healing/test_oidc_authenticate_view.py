"""Starting a sign-in at the provider: the redirect carries state, nonce and a PKCE challenge;
a provider that does not answer is a clear 502 and leaves local sign-in working."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from tests import factories
from tests.oidc_helpers import CLIENT_ID, Provider, running_provider
from tests.services_helpers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider("http://testserver/login/oidc/callback/") as p:
        yield p


def test_it_redirects_to_the_discovered_endpoint_with_state_nonce_and_pkce(
    provider: Provider, settings: Any
) -> None:
    settings.SELFHEAL_OIDC = provider.selfheal_config()
    client = Client()
    response = client.get("/login/oidc/authenticate/?next=/audit/")
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider.issuer}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/login/oidc/callback/"
    pending = client.session["oidc_states"][query["state"]]
    assert pending["nonce"] == query["nonce"]
    verifier = pending["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] == digest.decode()
    assert client.session["oidc_login_next"] == "/audit/"


def test_it_answers_502_when_the_provider_is_down_and_local_sign_in_still_works(
    settings: Any,
) -> None:
    down = Provider(issuer=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    settings.SELFHEAL_OIDC = down.selfheal_config()
    settings.AUTHENTICATION_BACKENDS = [
        "healing.accounts.throttle.ThrottledModelBackend",
        "healing.accounts.oidc.SelfhealOIDCBackend",
    ]
    response = Client().get("/login/oidc/authenticate/")
    assert response.status_code == 502
    assert b"Test IdP did not answer" in response.content
    user = factories.make_user("local-admin", role="admin")
    local = Client()
    assert (
        local.post("/login/", {"username": user.username, "password": "pw-for-tests-1"})["Location"]
        == "/"
    )
    assert "_auth_user_id" in local.session
