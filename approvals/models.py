"""The console's own rows: reviewers' decisions and the notifications already sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Decision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalQuerySet(models.QuerySet["Approval"]):
    def approvals(self) -> ApprovalQuerySet:
        return self.filter(decision=Decision.APPROVE)

    def for_round(self, modification_id: int, round_: int) -> ApprovalQuerySet:
        return self.filter(modification_id=modification_id, round=round_)


class Approval(models.Model):
    """One reviewer's click on one modification: approve or reject, with a comment.

    `round` counts how often the modification entered awaiting_approval: a patch sent back to
    validation (HEAD moved) and held again needs fresh approvals, so old ones don't count."""

    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="approvals"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    round = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One vote per person per round: a double click or a retried request counts once.
            models.UniqueConstraint(
                fields=["modification", "user", "round"], name="one_vote_per_reviewer_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of {self.modification_id} by {self.user_id}"


class NotificationChannel(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"
    CHAT = "chat"


class NotificationSent(models.Model):
    """One row per (audit event, channel): a notification is sent once, however often asked."""

    event = models.ForeignKey("healing.AuditEvent", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField(default=False)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel"], name="one_notification_per_event_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} for event {self.event_id}"


class LinkAction(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class ActionLink(models.Model):
    """One reviewer's link in one notification: single-use (used_at, claimed by a conditional
    update), expiring (created_at + the tunable), bound to the reviewer, the patch and the review
    digest the notification described. Only a hash of the token is stored: a database dump does
    not yield working links."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=16, choices=LinkAction.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} link for {self.modification_id} to {self.user_id}"


class ChatIdentity(models.Model):
    """Which Selfheal account a chat user is (set by an admin). A click in chat counts only
    through this mapping, and only with the account's roles at click time."""

    chat_user_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "chat identities"

    def __str__(self) -> str:
        return f"{self.chat_user_id} → {self.user_id}"


class NotificationThread(models.Model):
    """The thread a patch's notices go to, per channel: the first e-mail's Message-ID, the first
    chat message's ts. Later notices about the same patch reply to it."""

    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    ref = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["modification", "channel"], name="one_thread_per_patch_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} thread of {self.modification_id}"
