"""The admin page that maps chat users to accounts: every change goes through the audited action."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.actions import do_map_chat_user
from approvals.models import ChatIdentity
from healing.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_renames_a_chat_user_in_one_audited_action(admin_user: Any, reviewer: Any) -> None:
    identity = do_map_chat_user(admin_user, "U_OLD", reviewer)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    site = Client()
    site.force_login(admin_user)
    response = site.post(
        f"/admin/approvals/chatidentity/{identity.pk}/change/",
        {
            "chat_user_id": "U_NEW",
            "user": reviewer.pk,
            "created_at_0": "2026-12-01",
            "created_at_1": "12:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(ChatIdentity.objects.values_list("chat_user_id", flat=True)) == ["U_NEW"]
    event = AuditEvent.objects.filter(kind="chat.identity").latest("id")
    assert event.data == {
        "chat_user_id": "U_NEW",
        "user": reviewer.username,
        "renamed_from": "U_OLD",
    }
