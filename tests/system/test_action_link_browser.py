"""The approve link of a notification e-mail, in a real browser: Debian's Chromium (headless)
against Selfheal under daphne (the harness of tests/system/test_console_browser.py). The e-mail is really
sent (Django's locmem backend in this process); the link is opened signed out, as from a mail app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from approvals.models import Approval
from healing.models import Modification
from selfheal_site.celery import app
from tests import factories
from tests.console_helpers import awaiting, link_in_mail
from tests.system.test_console_browser import (  # noqa: F401 - the daphne and Chromium fixtures
    PASSWORD,
    _page,
    _shoot,
    asgi_server,
    browser,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA = "rita@example.invalid"


@pytest.fixture
def mailed(settings: Any, asgi_server: str) -> Any:  # noqa: F811 - the imported fixture
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = asgi_server
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_it_approves_from_the_mailed_link_after_one_confirming_click(
    asgi_server: str,  # noqa: F811 - the imported fixture
    browser: Any,  # noqa: F811 - the imported fixture
    mailed: Any,
    tmp_path: Path,
) -> None:
    workspace = factories.make_workspace(tmp_path / "repo", name="shop")
    rita = factories.make_user("rita", role="reviewer")
    rita.email = RITA
    rita.save(update_fields=["email"])
    mod = awaiting(workspace, "HIGH_RISK", patch_id="auth-fix-9")  # sends the notice on commit
    [message] = [m for m in mail.outbox if m.to == [RITA]]
    assert f"{asgi_server}/patches/link/" in message.body
    path = link_in_mail(mail.outbox, RITA, "approve")

    page = _page(browser, asgi_server)
    # Signed out, as when the mail is opened on another device: log in, land back on the link.
    page.goto(path)
    page.wait_for_url("**/login/**")
    page.fill("#id_username", "rita")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{path}")
    summary = page.locator("#link-summary").inner_text()
    assert "HIGH_RISK" in summary and "test rule for HIGH_RISK" in summary
    assert "1 high, 1 low" in summary and "+2 −1" in summary
    assert page.get_by_role("link", name="Open the full review page").get_attribute("href") == (
        f"/patches/{mod.pk}/"
    )
    _shoot(page, "action-link-1280")
    # Opening it decided nothing.
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"

    # HIGH_RISK needs a comment: the browser asks for it before anything is sent.
    page.click("#confirm-button")
    assert page.evaluate("document.getElementById('comment').validity.valueMissing")
    page.fill("#comment", "Read the diff: the check is tighter, not looser.")
    page.click("#confirm-button")
    page.locator("#link-outcome").get_by_text("auth-fix-9 approved.").wait_for()
    assert page.locator("#confirm-button").count() == 0
    _shoot(page, "action-link-done-1280")
    assert Modification.objects.get(pk=mod.pk).status in {
        "approved",
        "applying",
        "applied",
        "failed",
    }
    assert Approval.objects.get(modification=mod).user_id == rita.pk

    # The same link again: it says so, and offers nothing to click.
    page.goto(path)
    assert "used already" in page.locator("#link-error").inner_text()
    assert page.locator("#confirm-button").count() == 0
    page.context.close()
