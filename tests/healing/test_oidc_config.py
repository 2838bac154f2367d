"""SELFHEAL_OIDC_* read from the environment: off unless configured, loud when half-configured
or when the role map names a role a provider may not grant."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from selfheal_site.env import oidc_config, oidc_role_map


def test_it_is_off_when_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SELFHEAL_OIDC_ISSUER", "SELFHEAL_OIDC_CLIENT_ID", "SELFHEAL_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert oidc_config() is None


def test_it_refuses_a_half_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFHEAL_OIDC_ISSUER", "https://id.example.test")
    monkeypatch.delenv("SELFHEAL_OIDC_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("SELFHEAL_OIDC_CLIENT_ID", "selfheal")
    with pytest.raises(ImproperlyConfigured, match="together"):
        oidc_config()


def test_it_reads_the_issuer_client_and_role_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFHEAL_OIDC_ISSUER", "https://id.example.test/realms/acme/")
    monkeypatch.setenv("SELFHEAL_OIDC_CLIENT_ID", "selfheal")
    monkeypatch.setenv("SELFHEAL_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("SELFHEAL_OIDC_ROLE_MAP", "selfheal-admins=admin, selfheal-ops=operator")
    monkeypatch.setenv("SELFHEAL_OIDC_JWKS_ENDPOINT", "https://id.example.test/keys")
    cfg = oidc_config()
    assert cfg is not None
    assert cfg["issuer"] == "https://id.example.test/realms/acme"
    assert cfg["role_map"] == {"selfheal-admins": "admin", "selfheal-ops": "operator"}
    assert cfg["roles_claim"] == "groups"
    assert cfg["endpoints"]["jwks"] == "https://id.example.test/keys"
    assert cfg["endpoints"]["token"] == ""  # from discovery, on first use


@pytest.mark.parametrize(
    "text", ["ops=agent", "ops=superuser", "ops", "=admin", "ops=admin,dev=root"]
)
def test_it_refuses_a_role_map_a_provider_may_not_grant(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SELFHEAL_OIDC_ROLE_MAP"):
        oidc_role_map(text)


def test_it_keeps_group_names_with_equals_signs() -> None:
    # The role is after the last "=": group names such as "cn=ops" stay whole.
    assert oidc_role_map("cn=ops=operator") == {"cn=ops": "operator"}
