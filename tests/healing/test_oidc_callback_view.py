"""The OpenID Connect callback against a real provider (tests/oidc_provider in a subprocess):
the code is exchanged over HTTP, the ID token checked against the provider's JWKS."""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client

from healing.models import AuditEvent, ExternalIdentity
from healing.roles import Role, roles_of
from tests import factories
from tests.oidc_helpers import CLIENT_SECRET, OTHER_CLIENT, USERS, Provider, running_provider

CALLBACK = "http://testserver/login/oidc/callback/"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider(CALLBACK) as p:
        yield p


@pytest.fixture
def oidc(provider: Provider, settings: Any) -> Provider:
    settings.SELFHEAL_OIDC = provider.selfheal_config()
    settings.AUTHENTICATION_BACKENDS = [
        "healing.accounts.throttle.ThrottledModelBackend",
        "healing.accounts.oidc.SelfhealOIDCBackend",
    ]
    return provider


def _password_of(username: str) -> str:
    return next(u["password"] for u in USERS if u["username"] == username)


def sign_in_at_provider(authorize: str, username: str) -> str:
    """What a browser does at the provider: its login form, then the redirect it answers with."""
    browser = requests.Session()
    login = browser.get(authorize, timeout=10)  # redirected to the provider's login page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    back = browser.post(
        login.url,
        data={
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": _password_of(username),
            "next": parse_qs(urlparse(login.url).query)["next"][0],
        },
        headers={"Referer": login.url},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302, back.text
    done = browser.get(
        urljoin(login.url, back.headers["Location"]), allow_redirects=False, timeout=10
    )
    assert done.status_code == 302, done.text
    return done.headers["Location"]


def provider_redirect(client: Client, username: str) -> str:
    """Start the sign-in at Selfheal, sign in at the provider; the callback URL it sends back."""
    start = client.get("/login/oidc/authenticate/")
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert "code_challenge=" in authorize and "nonce=" in authorize  # PKCE and nonce
    location = sign_in_at_provider(authorize, username)
    assert location.startswith(CALLBACK), location
    return location


def callback(client: Client, url: str) -> Any:
    parts = urlparse(url)
    return client.get(parts.path, parse_qs(parts.query))


@pytest.mark.django_db
def test_it_signs_in_with_the_mapped_role_and_creates_the_user(oidc: Provider) -> None:
    client = Client()
    response = callback(client, provider_redirect(client, "olivia"))
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(external_identity__issuer=oidc.issuer)
    assert user.username == "olivia" and not user.has_usable_password()
    assert roles_of(user) == {Role.OPERATOR, Role.REVIEWER}
    assert client.get("/").status_code == 200  # the dashboard, signed in
    assert AuditEvent.objects.filter(kind="account.roles_changed").count() == 1


@pytest.mark.django_db
def test_it_resyncs_the_roles_at_each_sign_in(oidc: Provider, settings: Any) -> None:
    client = Client()
    callback(client, provider_redirect(client, "olivia"))
    settings.SELFHEAL_OIDC = oidc.selfheal_config(role_map={"staff": "admin"})
    again = Client()
    assert callback(again, provider_redirect(again, "olivia")).status_code == 302
    user = get_user_model().objects.get(username="olivia")
    assert roles_of(user) == {Role.ADMIN, Role.OPERATOR, Role.REVIEWER}
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert ExternalIdentity.objects.count() == 1


@pytest.mark.django_db
def test_it_does_not_take_over_a_local_account_of_the_same_name(oidc: Provider) -> None:
    local = factories.make_user("dora", role="admin")
    client = Client()
    assert callback(client, provider_redirect(client, "dora")).status_code == 302
    signed_in = get_user_model().objects.get(external_identity__subject__isnull=False)
    assert signed_in.pk != local.pk and signed_in.username.startswith("dora-")
    assert roles_of(signed_in) == {Role.REVIEWER}
    assert int(client.session["_auth_user_id"]) == signed_in.pk


@pytest.mark.django_db
def test_it_refuses_a_user_whose_groups_map_to_no_role(oidc: Provider) -> None:
    client = Client()
    response = callback(client, provider_redirect(client, "nick"))
    assert response.status_code == 403
    assert b"none of your groups" in response.content and b"marketing" in response.content
    assert "_auth_user_id" not in client.session
    assert not get_user_model().objects.filter(username="nick").exists()


@pytest.mark.django_db
def test_it_takes_every_role_away_when_the_groups_no_longer_map(
    oidc: Provider, settings: Any
) -> None:
    client = Client()
    callback(client, provider_redirect(client, "olivia"))
    settings.SELFHEAL_OIDC = oidc.selfheal_config(role_map={})
    again = Client()
    assert callback(again, provider_redirect(again, "olivia")).status_code == 403
    assert "_auth_user_id" not in again.session
    assert roles_of(get_user_model().objects.get(username="olivia")) == set()


@pytest.mark.django_db
def test_it_refuses_a_callback_with_a_wrong_state(oidc: Provider) -> None:
    client = Client()
    url = provider_redirect(client, "olivia")
    forged = re.sub(r"state=[^&]+", "state=attacker-chosen", url)
    assert callback(client, forged).status_code == 400
    assert "_auth_user_id" not in client.session
    # A callback in a browser that never started a sign-in (login CSRF) is refused as well.
    stranger = Client()
    assert callback(stranger, url).status_code == 403
    assert "_auth_user_id" not in stranger.session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered(id_token: str, issuer: str) -> str:
    """The provider's token with another payload (an admin's groups), its signature kept."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _resigned(id_token: str, issuer: str) -> str:
    """The same claims signed with a key that is not the provider's (same kid)."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _hs256_with_client_secret(id_token: str, issuer: str) -> str:
    """The classic confusion: HS256 keyed with the client secret, which the client knows."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(id_token)["kid"]
    return jwt.encode(claims, CLIENT_SECRET, algorithm="HS256", headers={"kid": kid})


def _issued_to_another_client(id_token: str, issuer: str) -> str:
    """A genuine, validly signed ID token of the same user and nonce, but issued to another
    application at the provider (its `aud`): it must not open a session at Selfheal."""
    nonce = jwt.decode(id_token, options={"verify_signature": False})["nonce"]
    query = urlencode({"client_id": OTHER_CLIENT["client_id"], "response_type": "code",
                       "scope": "openid", "redirect_uri": OTHER_CLIENT["redirect_uri"],
                       "state": "theirs", "nonce": nonce})  # fmt: skip
    location = sign_in_at_provider(f"{issuer}/authorize?{query}", "olivia")
    answer = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlparse(location).query)["code"][0],
            "redirect_uri": OTHER_CLIENT["redirect_uri"],
            "client_id": OTHER_CLIENT["client_id"],
            "client_secret": OTHER_CLIENT["client_secret"],
        },
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["id_token"]


class _TokenProxy(BaseHTTPRequestHandler):
    """Forwards the token request to the provider and rewrites the ID token it answers with."""

    upstream = ""
    rewrite: Any = None

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = urllib.request.Request(
            self.upstream, data=body, headers={"Content-Type": self.headers["Content-Type"]}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            tokens = json.loads(answer.read())
        issuer = self.upstream.rsplit("/token", 1)[0]
        tokens["id_token"] = type(self).rewrite(tokens["id_token"], issuer)
        out = json.dumps(tokens).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rewrite", [_tampered, _resigned, _hs256_with_client_secret, _issued_to_another_client]
)
def test_it_refuses_a_forged_or_misdirected_id_token(
    oidc: Provider, settings: Any, rewrite: Any
) -> None:
    handler = type("Proxy", (_TokenProxy,), {"upstream": f"{oidc.issuer}/token",
                                             "rewrite": staticmethod(rewrite)})  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = oidc.selfheal_config()
        cfg["endpoints"] = {**cfg["endpoints"], "token": f"http://127.0.0.1:{server.server_port}/"}
        settings.SELFHEAL_OIDC = cfg
        client = Client()
        response = callback(client, provider_redirect(client, "olivia"))
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert not ExternalIdentity.objects.exists()
