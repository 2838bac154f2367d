"""The shared rate limit: at most N applications in a rolling window, across every worker.

A slot is reserved at the apply pre-flight under the global breaker's row lock (one serialisation
point for all processes), so two workers can never both take the last place; note_application()
confirms it when the commit lands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .. import tunables
from ..models import ApplicationSlot
from ..models.breaker import GLOBAL_SOURCE
from . import engine_breaker
from .results import CheckResult


def _limits() -> tuple[int, int]:
    values = tunables.get_many(["rate_limit.applications_per_window", "rate_limit.window_seconds"])
    return values["rate_limit.applications_per_window"], values["rate_limit.window_seconds"]


def _result(modification_id: int, now: datetime, limit: int, window: int) -> CheckResult:
    since = now - timedelta(seconds=window)
    in_window = ApplicationSlot.objects.filter(reserved_at__gte=since).exclude(
        modification_id=modification_id
    )
    used = in_window.count()
    if used < limit:
        return CheckResult(
            "rate_limit", True, metric=f"applications_per_{window}s", value=used, threshold=limit
        )
    oldest = in_window.order_by("reserved_at").values_list("reserved_at", flat=True).first()
    return CheckResult(
        "rate_limit",
        False,
        f"{used} applications in the last {window} s (at most {limit})",
        metric=f"applications_per_{window}s",
        value=used,
        threshold=limit,
        retry_at=(oldest or now) + timedelta(seconds=window),
    )


def free_places() -> int:
    """Applications the window allows now (for the unblock sweep)."""
    limit, window = _limits()
    used = ApplicationSlot.objects.filter(
        reserved_at__gte=timezone.now() - timedelta(seconds=window)
    ).count()
    return max(0, limit - used)


def check(modification_id: int) -> CheckResult:
    limit, window = _limits()
    return _result(modification_id, timezone.now(), limit, window)


def reserve(modification_id: int) -> CheckResult:
    limit, window = _limits()
    with transaction.atomic():
        engine_breaker.lock(GLOBAL_SOURCE)  # every reserving process queues here
        now = timezone.now()
        result = _result(modification_id, now, limit, window)
        if result.ok:
            ApplicationSlot.objects.update_or_create(
                modification_id=modification_id, defaults={"reserved_at": now}
            )
            ApplicationSlot.objects.filter(
                reserved_at__lt=now - timedelta(seconds=window * 10)
            ).delete()
    return result


def release(modification_id: int) -> None:
    ApplicationSlot.objects.filter(
        modification_id=modification_id, applied_at__isnull=True
    ).delete()


def note(modification_id: int) -> None:
    now = timezone.now()
    updated = ApplicationSlot.objects.filter(modification_id=modification_id).update(applied_at=now)
    if not updated:
        # Applied without an apply pre-flight: still counted, so the limit stays honest.
        ApplicationSlot.objects.get_or_create(
            modification_id=modification_id, defaults={"reserved_at": now, "applied_at": now}
        )
