"""The console's pages carry a Content-Security-Policy that runs no inline script, and need none:
no page holds an inline <script> or an inline event handler."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from monitoring.models import TelemetrySnapshot
from monitoring.synthetic import api_payload
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def pages(workspace: Any, api_as: Any, admin_user: Any) -> list[str]:
    mod = awaiting(workspace, "CRITICAL")
    # The Django admin's pages are the console's too.
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    for source in ("agent:ada-admin", "prod-web"):  # two sources: the page shows its picker
        api_as(admin_user).post(
            "/api/v1/snapshots/", {"source": source, "snapshots": api_payload(3)}, format="json"
        )
    assert TelemetrySnapshot.objects.values("source").distinct().count() == 2
    return [
        "/",
        f"/patches/{mod.pk}/",
        "/monitoring/",
        "/audit/",
        "/thresholds/",
        "/engine/stop/",
        "/diagnostics/",
        "/tokens/",
        f"/admin/healing/modification/{mod.pk}/change/",
    ]


def test_it_sends_a_policy_without_inline_script_on_every_page(
    pages: list[str], admin_user: Any
) -> None:
    client = Client()
    client.force_login(admin_user)
    for url in [*pages, "/login/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives.get("default-src") == "'self'", (url, policy)
        assert directives.get("script-src") == "'self'", (url, policy)
        assert directives.get("object-src") == "'none'" and "frame-ancestors" in directives


def test_it_renders_no_inline_script_or_event_handler(pages: list[str], admin_user: Any) -> None:
    client = Client()
    client.force_login(admin_user)
    for url in pages:
        html = client.get(url).content.decode()
        assert not INLINE_SCRIPT.findall(html), (url, INLINE_SCRIPT.findall(html)[:3])
        assert not INLINE_HANDLER.findall(html), (url, INLINE_HANDLER.findall(html)[:3])
