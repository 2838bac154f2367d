"""Work that waits for a worker is never lost: the stalled-work sweeper and the takeover of a
validation whose worker went away.

A patch is committed before its task is sent (transaction.on_commit), so when the broker is down
the send fails (healing.queueing.send_later logs it) and the row simply keeps its state. When the
database goes away under a worker, the task fails and the row keeps its state too. The sweeper
finds such rows by age (`queue.requeue_after_seconds`) and sends their task again. A duplicate
send is harmless: every stage claims its work once (a conditional UPDATE on the status, or the
sandbox's claim in Redis), so the loser of the race does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .. import tunables
from ..models import Modification, ModificationStatus
from .audit import record_event

log = logging.getLogger(__name__)
S = ModificationStatus
ACTOR = "system:requeue"
BATCH = 500  # one sweep; the next sweep takes the rest

TASK_FOR_STATUS: dict[str, str] = {
    S.RECEIVED: "healing.process_modification",
    S.VALIDATING: "healing.process_modification",  # taken over by do_reclaim_validation
    S.SANDBOXING: "healing.sandbox_modification",
    S.APPROVED: "healing.apply_modification",
}


def requeue_age() -> timedelta:
    return timedelta(seconds=int(tunables.get("queue.requeue_after_seconds")))


def _sandbox_running(modification_id: int) -> bool:
    from ..claims import is_claimed

    try:
        return is_claimed("sandbox", modification_id)
    except Exception:  # noqa: BLE001 - Redis down: the send below fails too and nothing is sent
        return False


def do_requeue_stalled() -> list[tuple[int, str]]:
    """Send the task of every modification stalled longer than `queue.requeue_after_seconds`
    again. Returns [(modification id, status)] of those sent; stops at the first failed send
    (the broker is down: the next sweep tries again)."""
    from ..queueing import send_later

    age = requeue_age()
    sent: list[tuple[int, str]] = []
    stalled = Modification.objects.stalled(older_than=age).values_list(
        "pk", "workspace_id", "status", "status_changed_at"
    )[:BATCH]
    for pk, workspace_id, status, since in stalled:
        if status == S.SANDBOXING and _sandbox_running(pk):
            continue  # a live worker holds it: a long sandbox run, not a lost one
        if not send_later(TASK_FOR_STATUS[status], pk):
            break
        sent.append((pk, status))
        waited = (timezone.now() - since).total_seconds()
        record_event(
            "modification.requeued",
            ACTOR,
            workspace_id=workspace_id,
            modification_id=pk,
            reason=f"{status} for {waited:.0f} s with no worker on it; sent again",
            data={"status": status, "waited_s": round(waited, 1)},
            broadcast_it=False,
        )
    if sent:
        log.warning("requeued %d stalled modifications: %s", len(sent), sent)
    return sent


@transaction.atomic
def do_reclaim_validation(mod: Modification, handed_over_at: datetime | None = None) -> bool:
    """Take a modification that is already in `validating`: one the apply sent back to
    validation (`handed_over_at` is the time of that transition, carried by the task), or one a
    worker left there when it went away (killed, or the database vanished before it could
    conclude), once stalled for the requeue age. Only one taker: the UPDATE is conditional on the
    claim time we read, so a second delivery of the same task finds a newer one and does nothing."""
    if mod.status != S.VALIDATING:
        return False
    handed_over = handed_over_at is not None and handed_over_at == mod.status_changed_at
    if not handed_over and mod.status_changed_at >= timezone.now() - requeue_age():
        return False
    now = timezone.now()
    updated = Modification.objects.filter(
        pk=mod.pk, status=S.VALIDATING, status_changed_at=mod.status_changed_at
    ).update(status_changed_at=now, updated_at=now)
    if updated != 1:
        return False
    stalled_since = mod.status_changed_at
    mod.status_changed_at = now
    if handed_over:
        return True  # the transition into validating was recorded by the one who sent it
    record_event(
        "modification.reclaimed",
        ACTOR,
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        reason="validation taken over: its worker went away",
        data={"stalled_since": stalled_since.isoformat()},
    )
    return True
