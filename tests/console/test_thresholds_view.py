from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healing import tunables
from healing.models import Setting, SettingChange

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_every_registered_tunable_grouped(admin_user: Any) -> None:
    html = _client(admin_user).get("/thresholds/").content.decode()
    for group, items in tunables.groups().items():
        assert f"<legend>{group}</legend>" in html
        for t in items:
            assert f"<code>{t.key}</code>" in html
    assert "never lets a HIGH_RISK or CRITICAL patch through without a click" in html


def test_it_picks_up_a_tunable_another_area_registers(admin_user: Any) -> None:
    extra = tunables.Tunable(
        "zz_test.budget",
        3,
        "Zz test area",
        "A tunable registered by another area.",
        kind=int,
        min=1,
        max=9,
    )
    tunables.register(extra)
    try:
        client = _client(admin_user)
        assert "<code>zz_test.budget</code>" in client.get("/thresholds/").content.decode()
        response = client.post(
            "/thresholds/",
            {"present__zz_test.budget": "1", "t__zz_test.budget": "5", "reason": "tune"},
        )
        assert response.status_code == 302
        assert tunables.get("zz_test.budget") == 5
    finally:
        tunables.REGISTRY.pop("zz_test.budget")


def test_it_stores_a_change_with_who_old_new_and_shows_it_in_the_history(admin_user: Any) -> None:
    client = _client(admin_user)
    response = client.post(
        "/thresholds/",
        {
            "present__safety.auto_apply_threshold": "1",
            "t__safety.auto_apply_threshold": "SAFE",
            "present__safety.critical_two_approvals": "1",  # unticked: turns it off
            "reason": "tighter",
        },
    )
    assert response.status_code == 302
    assert tunables.get("safety.auto_apply_threshold") == "SAFE"
    assert tunables.get("safety.critical_two_approvals") is False
    change = SettingChange.objects.get(key="safety.auto_apply_threshold")
    assert (change.old_value, change.new_value, change.changed_by, change.reason) == (
        "LOW_RISK",
        "SAFE",
        admin_user,
        "tighter",
    )
    html = client.get("/thresholds/history/?key=safety.auto_apply_threshold").content.decode()
    assert "LOW_RISK" in html and "SAFE" in html and "ada-admin" in html


def test_it_refuses_bad_values_with_clear_errors_and_stores_nothing(admin_user: Any) -> None:
    response = _client(admin_user).post(
        "/thresholds/",
        {
            "present__safety.auto_apply_threshold": "1",
            "t__safety.auto_apply_threshold": "CRITICAL",
            "present__intake.max_body_bytes": "1",
            "t__intake.max_body_bytes": "12",
            "present__notifications.webhook_url": "1",
            "t__notifications.webhook_url": "ftp://nope",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "is not one of SAFE, LOW_RISK, MEDIUM_RISK" in html
    assert "below the minimum" in html
    assert "is not an http(s) URL" in html
    assert not Setting.objects.exists() and not SettingChange.objects.exists()


def test_it_keeps_reviewers_and_operators_out(reviewer: Any, operator: Any) -> None:
    for user in (reviewer, operator):
        assert _client(user).get("/thresholds/").status_code == 403
        assert (
            _client(user).post("/thresholds/", {"t__safety.require_approval": "true"}).status_code
            == 403
        )
    assert not Setting.objects.exists()
