from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Setting(models.Model):
    """An admin's override of one tunable (see healing.tunables). Absent means the default."""

    key = models.CharField(max_length=128, unique=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}"


class SettingChange(models.Model):
    """History of tunable changes: who, when, old and new value, why."""

    key = models.CharField(max_length=128, db_index=True)
    old_value = models.JSONField(null=True)
    new_value = models.JSONField(null=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.old_value!r} → {self.new_value!r}"
