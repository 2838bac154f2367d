from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from healing import tunables
from healing.actions import do_change_setting
from healing.models import AuditEvent, SettingChange

pytestmark = pytest.mark.django_db


def test_it_stores_the_value_with_its_history(admin_user: Any) -> None:
    assert tunables.get("intake.max_body_bytes") == 1024 * 1024
    do_change_setting(admin_user, "intake.max_body_bytes", "2048", reason="tighter")
    assert tunables.get("intake.max_body_bytes") == 2048
    change = SettingChange.objects.get()
    assert (change.old_value, change.new_value, change.changed_by) == (
        1024 * 1024,
        2048,
        admin_user,
    )
    assert AuditEvent.objects.filter(kind="setting.change").count() == 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("intake.max_body_bytes", "lots", "not a valid int"),
        ("intake.max_body_bytes", 10, "below the minimum"),
        ("safety.auto_apply_threshold", "CRITICAL", "not one of"),
        ("safety.safety_enabled", "perhaps", "not a valid bool"),
    ],
)
def test_it_refuses_invalid_values_and_stores_nothing(
    admin_user: Any, key: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        do_change_setting(admin_user, key, value)
    assert not SettingChange.objects.exists()


def test_it_lets_a_workspace_override_a_tunable(workspace: Any) -> None:
    workspace.policy_overrides = {"safety.require_approval": True}
    assert tunables.get("safety.require_approval") is False
    assert tunables.get("safety.require_approval", workspace) is True


def test_it_rejects_unknown_keys(admin_user: Any) -> None:
    with pytest.raises(KeyError):
        do_change_setting(admin_user, "no.such.key", 1)
