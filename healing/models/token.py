from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def hash_key(key: str) -> str:
    """Only this is stored: a leaked database does not hand out working keys."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self, now: datetime | None = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """An API key of one account (an engine, mostly), shown once and kept as its sha256.

    `workspaces` is the grant: the workspaces an agent may submit to with this key. Not
    `scoped`: no grant, every workspace not reserved by another key's grant (healing/lanes.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # The key's first characters, so a person can tell which key a script holds.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    workspaces = models.ManyToManyField("healing.Workspace", blank=True, related_name="api_tokens")
    # Set with a non-empty grant: a key whose granted workspaces were all deleted reaches none,
    # not (as an empty grant would read) every workspace.
    scoped = models.BooleanField(default=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def refusal(self, now: datetime | None = None) -> str:
        """Why this key no longer signs anyone in ('' while it does)."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return f"This API token was revoked at {self.revoked_at.isoformat()}."
        if self.expires_at is not None and self.expires_at <= now:
            return f"This API token expired at {self.expires_at.isoformat()}."
        if not self.user.is_active:
            return "The account of this API token is disabled."
        return ""

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"
