"""The service banner in base.html and its script (static/js/service.js)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _banner(html: str) -> str:
    match = re.search(r'<div[^>]*id="service-banner"[^>]*>', html)
    assert match, "no service banner in the page"
    return match.group(0)


def test_it_is_on_every_console_page_hidden_until_the_script_fills_it(reviewer: Any) -> None:
    client = Client()
    client.force_login(reviewer)
    for html in (
        client.get(reverse("dashboard")).content.decode(),
        Client().get("/login/").content.decode(),  # anonymous pages too: /healthz is public
    ):
        banner = _banner(html)
        assert " hidden" in banner and 'aria-live="polite"' in banner
        assert "js/service.js" in html


def test_it_polls_healthz_only_while_the_tab_is_visible_and_names_what_is_down() -> None:
    path = finders.find("js/service.js")
    assert path, "static/js/service.js is missing"
    script = Path(path).read_text(encoding="utf-8")
    assert 'fetch("/healthz"' in script
    assert 'document.visibilityState === "hidden"' in script
    assert "body.down" in script and '"broker (Redis)"' in script
    assert 'selfhealLive.on("close", check)' in script
    live = Path(finders.find("js/live.js")).read_text(encoding="utf-8")
    assert 'dispatch("close"' in live
