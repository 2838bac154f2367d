"""The breaker buttons in a real browser (Debian's Chromium against daphne, the harness of
test_console_browser): an admin resets an engine's open breaker with a reason and sees it
closed; a reviewer's open dashboard shows the change live, without buttons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.models import AuditEvent, EngineBreaker
from tests import factories
from tests.judgement_helpers import fail
from tests.system.test_console_browser import (  # the harness: fixtures and page helpers
    _csp_violations,
    _elsewhere,
    _login,
    _page,
    _settled,
    _wait_live,
    asgi_server,  # noqa: F401 - fixture
    browser,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ENGINE = "agent:agent-7"
ROW = f'#panel-breakers tr[data-breaker="{ENGINE}"]'


def test_it_resets_an_open_engine_breaker_with_a_reason_and_shows_it_closed(
    asgi_server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    workspace = factories.make_workspace(factories.make_git_repo(tmp_path / "repo"), name="shop")
    factories.make_user("ada", role="admin")
    factories.make_user("rita", role="reviewer")
    _elsewhere(fail, workspace, n=5, source=ENGINE)
    assert EngineBreaker.objects.get(source=ENGINE).state == "OPEN"

    watcher = _page(browser, asgi_server)
    _login(watcher, "rita")
    _wait_live(watcher)
    _settled(watcher)
    watcher.locator(f"{ROW} td.state-open").wait_for()
    assert watcher.locator(f"{ROW} button").count() == 0  # a reviewer sees no buttons

    page = _page(browser, asgi_server)
    violations = _csp_violations(page)
    _login(page, "ada")
    _wait_live(page)
    _settled(page)
    row = page.locator(ROW)
    row.locator("td.state-open").wait_for()
    row.get_by_role("button", name="Reset").click()  # refused by the browser: no reason
    page.wait_for_timeout(300)
    assert EngineBreaker.objects.get(source=ENGINE).state == "OPEN"

    row.get_by_role("textbox").fill("engine fixed upstream")
    with page.expect_navigation():
        row.get_by_role("button", name="Reset").click()
    page.locator(".messages").get_by_text(f"The breaker of {ENGINE} was reset").wait_for()
    page.locator(f"{ROW} td.state-closed").wait_for()
    assert EngineBreaker.objects.get(source=ENGINE).state == "CLOSED"
    event = AuditEvent.objects.filter(kind="breaker.engine").latest("id")
    assert (event.reason, event.actor.username, event.to_state) == (
        "engine fixed upstream",
        "ada",
        "CLOSED",
    )

    # Pushed to the page that was already open: the panel refreshes over the websocket.
    watcher.locator(f"{ROW} td.state-closed").wait_for()
    assert violations == []
    watcher.context.close()
    page.context.close()
