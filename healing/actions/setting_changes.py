from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .. import tunables
from ..models import Setting, SettingChange
from .audit import record_event


@transaction.atomic
def do_change_setting(user: User | None, key: str, raw_value: Any, reason: str = "") -> Any:
    """Validate and store one tunable; returns the cleaned value. Raises ValidationError."""
    tunable = tunables.get_tunable(key)
    value = tunable.clean(raw_value)
    row = Setting.objects.select_for_update().filter(key=key).first()
    old = tunable.default if row is None else row.value
    if row is not None and row.value == value:
        return value
    if row is None:
        Setting.objects.create(key=key, value=value, updated_by=user)
    else:
        row.value = value
        row.updated_at = timezone.now()
        row.updated_by = user
        row.save(update_fields=["value", "updated_at", "updated_by"])
    SettingChange.objects.create(
        key=key, old_value=old, new_value=value, changed_by=user, reason=reason
    )
    record_event("setting.change", user, reason=reason, data={"key": key, "old": old, "new": value})
    return value
