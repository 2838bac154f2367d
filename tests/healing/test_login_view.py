"""The login page: local accounts with failed sign-ins throttled per username and per address
(counted in the real Redis), and the provider's button only when one is configured."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def limits(settings: Any) -> dict[str, int]:
    settings.LOGIN_THROTTLE = {"per_username": 3, "per_ip": 5, "window_s": 60}
    return settings.LOGIN_THROTTLE


def _unique(prefix: str) -> str:
    # The counters live in the suite's Redis across tests: fresh names and addresses per test.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _login(username: str, password: str, ip: str, path: str = "/login/") -> Any:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(path, {"username": username, "password": password})
    response.signed_in = "_auth_user_id" in client.session
    return response


def test_it_refuses_the_right_password_after_too_many_failures(limits: Any) -> None:
    user = factories.make_user(_unique("vic"), role="reviewer")
    for _ in range(3):
        wrong = _login(user.username, "guess", _address())
        assert wrong.status_code == 200 and b"didn&#x27;t match" in wrong.content
    refused = _login(user.username, PASSWORD, _address())
    assert refused.status_code == 429
    assert b"Too many failed sign-ins" in refused.content
    assert 0 < int(refused["Retry-After"]) <= 60
    assert not refused.signed_in


def test_it_counts_failures_from_one_address_across_usernames(limits: Any) -> None:
    ip = _address()
    for _ in range(5):
        assert _login(_unique("nobody"), "guess", ip).status_code == 200
    user = factories.make_user(_unique("ann"), role="reviewer")
    assert _login(user.username, PASSWORD, ip).status_code == 429
    elsewhere = _login(user.username, PASSWORD, _address())
    assert elsewhere.status_code == 302 and elsewhere.signed_in


def test_it_does_not_let_one_good_sign_in_clear_an_address_count(limits: Any) -> None:
    ip = _address()
    own = factories.make_user(_unique("mallory"), role="reviewer")
    victims = [_unique("victim") for _ in range(5)]  # per_ip is 5
    for name in victims[:4]:
        _login(name, "guess", ip)
    assert _login(own.username, PASSWORD, ip).signed_in
    _login(victims[4], "guess", ip)
    assert _login(own.username, PASSWORD, ip).status_code == 429


def test_it_lets_the_user_in_once_the_window_has_passed(settings: Any) -> None:
    settings.LOGIN_THROTTLE = {"per_username": 2, "per_ip": 10, "window_s": 2}
    user = factories.make_user(_unique("pat"), role="reviewer")
    ip = _address()
    _login(user.username, "guess", ip)
    _login(user.username, "guess", ip)
    assert _login(user.username, PASSWORD, ip).status_code == 429
    time.sleep(2.2)
    assert _login(user.username, PASSWORD, ip).signed_in


def test_it_throttles_the_admin_login_page_too(limits: Any) -> None:
    user = factories.make_user(_unique("root"), role="admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    for _ in range(3):
        _login(user.username, "guess", _address(), path="/admin/login/")
    assert not _login(user.username, PASSWORD, _address(), path="/admin/login/").signed_in


def test_it_shows_the_provider_button_only_when_configured(settings: Any) -> None:
    assert b"Sign in with" not in Client().get("/login/").content
    assert Client().get("/login/oidc/authenticate/").status_code == 404
    settings.SELFHEAL_OIDC = {"provider_name": "Acme SSO"}
    page = Client().get("/login/?next=/audit/")
    assert b"Sign in with Acme SSO" in page.content
    assert b'href="/login/oidc/authenticate/?next=/audit/"' in page.content


def test_it_still_lets_people_sign_in_while_redis_is_down(settings: Any, tmp_path: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{tmp_path / 'no-redis.sock'}",
        }
    }
    user = factories.make_user(_unique("eve"), role="reviewer")
    assert _login(user.username, "guess", _address()).status_code == 200
    assert _login(user.username, PASSWORD, _address()).signed_in
