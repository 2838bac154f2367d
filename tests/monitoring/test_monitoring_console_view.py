from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from monitoring.models import TelemetryRollup, TelemetrySnapshot

pytestmark = pytest.mark.django_db


def test_it_shows_charts_and_says_when_the_data_is_demo_data(client: Any, reviewer: Any) -> None:
    call_command("seed_demo_telemetry", "--days", "10")
    assert TelemetrySnapshot.objects.filter(is_demo=True).exists()
    assert TelemetryRollup.objects.filter(is_demo=True).exists()
    client.force_login(reviewer)
    page = client.get("/monitoring/").content.decode()
    assert 'id="demo-banner"' in page and "Demo data." in page
    assert "vendor/plotly/plotly.min.js" in page and "cdn" not in page.lower()
    assert 'id="monitoring-data"' in page
    month = client.get("/monitoring/?range=30d").content.decode()
    assert "showing 30d" in month


def test_it_has_no_demo_banner_for_real_data(client: Any, reviewer: Any) -> None:
    client.force_login(reviewer)
    page = client.get("/monitoring/").content.decode()
    assert "demo-banner" not in page
    assert "No telemetry yet" in page


def test_it_refuses_agents_and_redirects_anonymous_users(client: Any, agent: Any) -> None:
    assert client.get("/monitoring/").status_code == 302
    client.force_login(agent)
    assert client.get("/monitoring/").status_code == 403
