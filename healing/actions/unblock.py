"""Blocked work resumes by itself.

Every block names what lifts it: one Hold row per condition (`kind`, `key`), written with the
transition into `blocked` (do_block) and listed in its audit event as `blocked_by`. When the
condition lifts, every patch it held goes back to the stage it was blocked at, in the order the
patches arrived: intake blocks start intake again (received → process_modification, against the
HEAD of then), apply blocks go back to approved → apply_modification (which runs the apply
pre-flight again and sends the patch back to validation if HEAD moved), sandbox blocks run the
sandbox again. Each resume writes `modification.unblocked`.

Lifts come two ways: event-driven, where the lift is an action (emergency-stop resume, a breaker
closed, reset or half-open), which sends `healing.lift_holds` by name on commit; and the beat sweep
(`healing.sweep_holds`, every few seconds), which asks every kind whether its holds still hold —
time-based lifts (rate-limit window, breaker cool-down, health retry), an isolation level that has
become available, a cascade a person cleared, and any lift whose event was lost.

Claims: a patch resumes in the transaction that deletes its hold (the delete count is the claim)
and moves it out of `blocked` with a transition conditional on that status, so two sweepers never
resume one patch twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from ..models import Hold, InvalidTransition, Modification, ModificationStatus
from .audit import Actor, record_event
from .modifications import transition

log = logging.getLogger(__name__)
S = ModificationStatus
ACTOR = "system:unblock"
UNLIMITED = -1

# The stage a resumed patch goes back to, and the task that takes it from there.
RESUME_TASK: dict[str, str] = {
    S.RECEIVED: "healing.process_modification",
    S.SANDBOXING: "healing.sandbox_modification",
    S.APPROVED: "healing.apply_modification",
}


def split(label: str) -> tuple[str, str]:
    kind, _, key = label.partition(":")
    return kind, key


# --- what lifts each kind of block: small classes behind one interface ----------------------


class HoldKind:
    name: ClassVar[str]

    def holds(self, key: str, now: datetime) -> bool:
        """Does the condition still hold?"""
        raise NotImplementedError

    def would_hold(self, key: str, now: datetime) -> bool:
        """`holds` for display: the same answer, but nothing is moved or written."""
        return self.holds(key, now)

    def places(self, key: str, stage: str) -> int:
        """How many held patches may go on at once now (UNLIMITED: all)."""
        return UNLIMITED

    def due(self, key: str, now: datetime) -> Any:
        """The holds of this key that may lift now (time-based kinds narrow it)."""
        return Hold.objects.filter(kind=self.name, key=key)


KINDS: dict[str, HoldKind] = {}


def register_kind(cls: type[HoldKind]) -> type[HoldKind]:
    KINDS[cls.name] = cls()
    return cls


@register_kind
class EmergencyStop(HoldKind):
    name = "emergency_stop"

    def holds(self, key: str, now: datetime) -> bool:
        from ..models import EngineState

        return EngineState.objects.current().is_emergency_stopped


@register_kind
class GlobalBreaker(HoldKind):
    name = "global_breaker"

    def holds(self, key: str, now: datetime) -> bool:
        from ..breakers import engine_breaker as engine

        return not engine.check("intake", now=now).ok


@register_kind
class EngineBreaker(HoldKind):
    name = "engine_breaker"

    def holds(self, key: str, now: datetime) -> bool:
        from ..breakers import engine_breaker as engine

        # Also moves OPEN → HALF_OPEN once the cool-down is over (the time-based lift).
        return not engine.check("intake", key, now=now).ok

    def would_hold(self, key: str, now: datetime) -> bool:
        from ..breakers import engine_breaker as engine

        return not engine.check("intake", key, now=now, move=False).ok

    def places(self, key: str, stage: str) -> int:
        from ..breakers import engine_breaker as engine

        # Intake passes while half-open; only an apply takes one of the trial places.
        return engine.trial_places(key) if stage == S.APPROVED else UNLIMITED


@register_kind
class DualBreaker(HoldKind):
    name = "dual_breaker"

    def holds(self, key: str, now: datetime) -> bool:
        from ..breakers import dual

        workspace_id, error_type, source = _dual_key(key)
        return not dual.check(workspace_id, error_type, source, now=now).ok

    def places(self, key: str, stage: str) -> int:
        from ..breakers import dual

        workspace_id, error_type, source = _dual_key(key)
        closed = dual.check(workspace_id, error_type, source).value == "closed"
        # An open circuit past its cool-down lets one trial through.
        return UNLIMITED if closed or stage != S.APPROVED else 1


def _dual_key(key: str) -> tuple[int, str, str]:
    """ "<workspace id>:<error type>:<source>" (the source may hold colons itself)."""
    workspace_id, _, rest = key.partition(":")
    error_type, _, source = rest.partition(":")
    return int(workspace_id), error_type, source


@register_kind
class RateLimit(HoldKind):
    name = "rate_limit"

    def holds(self, key: str, now: datetime) -> bool:
        from ..breakers import ratelimit

        return ratelimit.free_places() == 0

    def places(self, key: str, stage: str) -> int:
        from ..breakers import ratelimit

        return ratelimit.free_places()


@register_kind
class Health(HoldKind):
    name = "health"

    def holds(self, key: str, now: datetime) -> bool:
        return not self.due(key, now).exists()

    def due(self, key: str, now: datetime) -> Any:
        # Health is judged again by the pre-flight each resumed patch runs.
        return Hold.objects.filter(kind=self.name, key=key, retry_at__lte=now)


@register_kind
class IsolationUnavailable(HoldKind):
    name = "isolation_unavailable"

    def holds(self, key: str, now: datetime) -> bool:
        from ..sandbox.backends import get_backend

        return not get_backend(key).available()[0]


@register_kind
class Cascade(HoldKind):
    name = "cascade"

    def holds(self, key: str, now: datetime) -> bool:
        from ..models import Cascade as CascadeRow
        from ..models.cascade import CascadeStatus

        return CascadeRow.objects.filter(pk=key, status=CascadeStatus.STOPPED).exists()


@register_kind
class Anomaly(HoldKind):
    name = "anomaly"

    def holds(self, key: str, now: datetime) -> bool:
        from .. import tunables
        from ..models import Workspace
        from ..tunables import ANOMALY_LEVELS

        workspace_id, _, level = key.partition(":")
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        block_at = tunables.get("preflight.block_anomaly_level", workspace)
        rank = ANOMALY_LEVELS.index(level) if level in ANOMALY_LEVELS else 0
        return rank >= ANOMALY_LEVELS.index(block_at)


REMOTE_PROBE_TIMEOUT_S = 15
REMOTE_BACKOFF_S = (5, 15, 60, 300)  # after the 1st, 2nd, 3rd, later block of one patch
REMOTE_REPROBE_S = 30  # between two probes that found the remote still down


REMOTE_DOWN = "the remote cannot be reached"


def remote_unreachable(mod: Modification) -> tuple[str, datetime]:
    """The hold for a patch whose fetch could not reach its remote, with the time the sweep
    first probes it: sooner the first time, then backing off, so a remote down for hours is not
    asked every few seconds."""
    from ..models import AuditEvent

    blocks = AuditEvent.objects.filter(
        modification=mod, to_state=S.BLOCKED, reason__startswith=REMOTE_DOWN
    ).count()
    wait = REMOTE_BACKOFF_S[min(blocks, len(REMOTE_BACKOFF_S) - 1)]
    return f"remote_unreachable:{mod.workspace_id}", timezone.now() + timedelta(seconds=wait)


@register_kind
class RemoteUnreachable(HoldKind):
    """The fetch before validation could not reach the remote (key: the workspace id). Lifts
    when the remote answers `git ls-remote`, asked only for holds whose wait is over."""

    name = "remote_unreachable"

    def holds(self, key: str, now: datetime) -> bool:
        from ..models import Workspace
        from ..remote.credentials import CredentialsMissing
        from ..remote.mirror import RemoteError
        from ..remote.push import remote_ref

        if not self.due(key, now).exists():
            return True
        workspace = Workspace.objects.filter(pk=key).first()
        if workspace is None or not workspace.is_remote:
            return False  # nothing left to wait for: intake decides again
        try:
            remote_ref(workspace, f"refs/heads/{workspace.branch}", timeout=REMOTE_PROBE_TIMEOUT_S)
        except (RemoteError, CredentialsMissing) as exc:
            log.info("remote of %s still unreachable: %s", workspace.name, exc)
            # Asked again after the longest wait, not at every sweep.
            self.due(key, now).update(retry_at=now + timedelta(seconds=REMOTE_REPROBE_S))
            return True
        return False

    def would_hold(self, key: str, now: datetime) -> bool:
        return True  # a page render does not probe the network; the sweep does

    def due(self, key: str, now: datetime) -> Any:
        return Hold.objects.filter(kind=self.name, key=key, retry_at__lte=now)


@register_kind
class Recheck(HoldKind):
    """A patch blocked before blocks named their lift: the sweep sends it back to its stage once,
    and its pre-flight blocks it again, naming the lift, if it is still held."""

    name = "recheck"

    def holds(self, key: str, now: datetime) -> bool:
        return False


def still_holds(label: str, now: datetime | None = None, *, move: bool = True) -> bool:
    """Does the block named `label` still hold? An unknown kind is taken to hold. `move=False`
    (display) never moves a breaker's state: a page render writes nothing."""
    kind, key = split(label)
    known = KINDS.get(kind)
    if known is None:
        return True
    now = now or timezone.now()
    return known.holds(key, now) if move else known.would_hold(key, now)


# --- blocking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockedBy:
    label: str  # "kind" or "kind:key"
    retry_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        kind, key = split(self.label)
        return {
            "kind": kind,
            "key": key,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


@transaction.atomic
def do_block(
    mod: Modification,
    actor: Actor,
    reason: str,
    blocked_by: Iterable[BlockedBy | tuple[str, datetime | None]],
    *,
    expected_from: str,
    resume_at: str | None = None,
    data: dict[str, Any] | None = None,
    block_reason: str | None = None,
) -> Modification:
    """`expected_from` → blocked, holding the patch until every one of `blocked_by` lifts; then
    it resumes at `resume_at` (default: the stage it was blocked at)."""
    blocks = [b if isinstance(b, BlockedBy) else BlockedBy(*b) for b in blocked_by]
    retry = [b.retry_at for b in blocks if b.retry_at is not None]
    mod = transition(
        mod,
        S.BLOCKED,
        actor,
        reason,
        expected_from=expected_from,
        data={**(data or {}), "blocked_by": [b.as_json() for b in blocks]},
        block_reason=reason if block_reason is None else block_reason,
        blocked_until=max(retry) if len(retry) == len(blocks) and retry else None,
        blocked_from=resume_at or expected_from,
    )
    Hold.objects.filter(modification=mod).delete()  # a stale one from an earlier block
    Hold.objects.bulk_create(
        [Hold(modification=mod, kind=split(b.label)[0], key=split(b.label)[1][:200],
              retry_at=b.retry_at) for b in blocks],
        ignore_conflicts=True,
    )  # fmt: skip
    return mod


# --- lifting --------------------------------------------------------------------------------


def do_lift(label: str, now: datetime | None = None) -> list[int]:
    """Resume, in arrival order, the patches `label` held if it no longer holds. Returns the ids
    resumed."""
    now = now or timezone.now()
    kind_name, key = split(label)
    kind = KINDS.get(kind_name)
    if kind is None or kind.holds(key, now):
        return []
    due = (
        kind.due(key, now)
        .order_by("modification__created_at", "modification_id")
        .values_list("modification_id", "modification__blocked_from")
    )
    resumed: list[int] = []
    budget: dict[str, int] = {}
    for modification_id, stage in due:
        stage = _resume_stage(stage)
        if stage not in budget:
            budget[stage] = kind.places(key, stage)
        if budget[stage] == 0:
            continue
        if _take(modification_id, kind_name, key, label):
            resumed.append(modification_id)
            if budget[stage] > 0:
                budget[stage] -= 1
    return resumed


def _resume_stage(blocked_from: str | None) -> str:
    return (
        blocked_from
        if blocked_from in RESUME_TASK or blocked_from == S.AWAITING_APPROVAL
        else S.RECEIVED
    )


@transaction.atomic
def _take(modification_id: int, kind: str, key: str, label: str) -> bool:
    """Delete this hold (the claim); resume the patch if nothing else holds it."""
    deleted, _ = Hold.objects.filter(modification_id=modification_id, kind=kind, key=key).delete()
    if not deleted or Hold.objects.filter(modification_id=modification_id).exists():
        return False
    mod = Modification.objects.filter(pk=modification_id, status=S.BLOCKED).first()
    if mod is None:
        return False  # cancelled or moved on meanwhile: the hold was stale
    stage = _resume_stage(mod.blocked_from)
    waited = (timezone.now() - mod.status_changed_at).total_seconds()
    try:
        transition(
            mod,
            stage,
            ACTOR,
            f"{label} lifted: resumes at {stage}",
            expected_from=S.BLOCKED,
            block_reason="",
            blocked_until=None,
        )
    except InvalidTransition:  # ConcurrentTransition too: another sweeper took it
        return False
    record_event(
        "modification.unblocked",
        ACTOR,
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        reason=f"{label} lifted after {waited:.1f} s; resumes at {stage}",
        data={"blocked_by": label, "stage": stage, "waited_s": round(waited, 3)},
        broadcast_it=False,
    )
    task = RESUME_TASK.get(stage)
    if task is not None:
        from ..queueing import send_later

        transaction.on_commit(lambda: send_later(task, mod.pk))
    return True


def do_sweep_holds(now: datetime | None = None) -> dict[str, list[int]]:
    """Ask every held condition whether it still holds and lift those that do not (beat)."""
    now = now or timezone.now()
    labels = (
        Hold.objects.values("kind", "key")
        .annotate(first=Min("modification__created_at"))
        .order_by("first")
    )
    lifted: dict[str, list[int]] = {}
    for row in labels:
        label = f"{row['kind']}:{row['key']}" if row["key"] else row["kind"]
        try:
            resumed = do_lift(label, now)
        except Exception:  # noqa: BLE001 - one broken kind must not keep the others held
            log.exception("lifting %s failed", label)
            continue
        if resumed:
            lifted[label] = resumed
    # Holds of patches no longer blocked (cancelled, rejected by a person) are only clutter.
    Hold.objects.exclude(modification__status=S.BLOCKED).delete()
    return lifted


LABEL_LIMIT = 20


def still_blocked(blocked: Any) -> Any:
    """`blocked` (a queryset of blocked modifications) without those whose every block has
    lifted and that only wait for the sweep to move them: the dashboard never names a block that
    no longer holds. A fixed number of queries: one for the labels, one check per label (at most
    LABEL_LIMIT, the most common first)."""
    from django.db.models import Count, Exists, OuterRef, Q

    rows = (
        Hold.objects.filter(modification__in=blocked.values("pk"))
        .values("kind", "key")
        .annotate(n=Count("*"))
        .order_by("-n")[:LABEL_LIMIT]
    )
    now = timezone.now()
    holding = Q(pk__in=[])
    for row in rows:
        label = f"{row['kind']}:{row['key']}" if row["key"] else row["kind"]
        if still_holds(label, now, move=False):
            holding |= Q(kind=row["kind"], key=row["key"])
    mine = Hold.objects.filter(modification=OuterRef("pk"))
    return blocked.filter(~Exists(mine) | Exists(mine.filter(holding)))
