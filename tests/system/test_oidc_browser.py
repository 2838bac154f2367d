"""Sign in with the company's identity, in a real browser: Debian's Chromium (headless)
against Selfheal under daphne and a real OpenID Connect provider (tests/oidc_provider), each in
its own process on a loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from healing.roles import Role, roles_of
from tests.conftest import _database_url_for_tests
from tests.oidc_helpers import USERS, Provider, running_provider
from tests.services_helpers import CHROMIUM, chromium, free_port, start_server, stop, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def sites(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[str, Provider]]:
    """Selfheal (daphne, configured from the environment as in production) and the provider."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_provider(f"{base}/login/oidc/callback/") as provider:
        env = dict(os.environ, DATABASE_URL=_database_url_for_tests(), **provider.selfheal_env())
        server = start_server(env, port)
        try:
            status, _, _ = wait_for(port, None, 30)
            assert status, "daphne did not answer /healthz within 30 s"
            yield base, provider
        finally:
            stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(allow_orm=True) as launched:  # the ORM between browser steps
        yield launched


def _sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(60_000)  # a provider and two servers on a loaded CI machine
    page.goto("/login/?next=/audit/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_selector("#provider-username")  # the provider's own page
    assert not page.url.startswith(base)
    page.fill("#provider-username", username)
    page.fill("#provider-password", next(u["password"] for u in USERS if u["username"] == username))
    page.click("#provider-submit")
    page.wait_for_url(lambda url: url.startswith(base))  # back at Selfheal
    return page


def test_it_signs_in_at_the_provider_and_comes_back_with_the_mapped_role(
    sites: tuple[str, Provider], browser: Any
) -> None:
    base, _ = sites
    page = _sign_in(browser, base, "olivia")
    page.wait_for_url(f"{base}/audit/")  # back where the sign-in started
    assert page.locator(".who").inner_text() == "olivia · operator, reviewer"
    assert page.locator("#stop-button").count() == 1  # the operator's emergency stop
    assert roles_of(get_user_model().objects.get(username="olivia")) == {
        Role.OPERATOR,
        Role.REVIEWER,
    }


def test_it_tells_a_user_whose_groups_map_to_no_role_and_does_not_sign_them_in(
    sites: tuple[str, Provider], browser: Any
) -> None:
    base, _ = sites
    page = _sign_in(browser, base, "nick")
    assert "none of your groups (marketing)" in " ".join(
        page.locator("#no-role-message").inner_text().split()
    )
    page.goto("/")
    assert "/login/" in page.url  # still anonymous
