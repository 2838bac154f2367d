"""The engine breakers: one per engine (the `source` that submitted), counted from that engine's
outcomes only, so one engine's failures never hold another's patches. CLOSED → OPEN after
`failure_threshold` consecutive failures; after the cool-down the next check moves it to HALF_OPEN
and lets at most `half_open_trials` of that engine's patches be in flight; `success_threshold`
consecutive successes close it, one failure opens it again.

Above them sits the operator-level global breaker (source ""): it counts nothing, an admin opens
it to hold every engine at once, and only an admin closes it.

Rows are changed only under `select_for_update()`; the OPEN → HALF_OPEN move happens lazily, on
the first check after the cool-down (or the unblock sweep), as a conditional update (one winner,
one event).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import tunables
from ..actions.audit import Actor, record_event
from ..broadcast import broadcast
from ..models import EngineBreaker
from ..models.breaker import GLOBAL_SOURCE
from ..models.breaker import EngineBreakerState as E
from .results import CheckResult

NAME = "engine_breaker"


def hold_key(source: str) -> str:
    """What a block by this breaker names as its lift (healing.actions.unblock)."""
    return "global_breaker" if source == GLOBAL_SOURCE else f"engine_breaker:{source[:128]}"


def lock(source: str = GLOBAL_SOURCE) -> EngineBreaker:
    source = source[:128]
    EngineBreaker.objects.get_or_create(source=source)
    return EngineBreaker.objects.select_for_update().get(source=source)


def _transition(
    breaker: EngineBreaker, new: str, actor: Actor, reason: str, fields: list[str]
) -> None:
    old = breaker.state
    breaker.state = new
    breaker.changed_at = timezone.now()
    breaker.reason = reason
    breaker.changed_by = actor if isinstance(actor, AbstractBaseUser) else None  # type: ignore[assignment]
    breaker.save(update_fields=[*fields, "state", "changed_at", "reason", "changed_by"])
    record_event(
        "breaker.engine",
        actor if actor is not None else "system",
        from_state=old,
        to_state=new,
        reason=reason,
        data=breaker.as_json(),
    )
    broadcast("engine_breaker", breaker.as_json())
    if new != E.OPEN:
        _lift_later(breaker.source)


def _lift_later(source: str) -> None:
    """The patches this breaker held go on once this commits (by task name: no task import)."""
    from ..queueing import lift_later

    lift_later(hold_key(source))


def _closed(value: str = E.CLOSED) -> CheckResult:
    return CheckResult(NAME, True, metric="engine_breaker_state", value=value, threshold=E.CLOSED)


def check(
    stage: str, source: str = GLOBAL_SOURCE, *, now: datetime | None = None, move: bool = True
) -> CheckResult:
    """The global breaker, then this engine's. Read-only except for the lazy OPEN → HALF_OPEN
    move once the cool-down is over; `move=False` (a page showing the state) leaves even that to
    the pre-flight and the sweep, and answers as if it had happened."""
    now = now or timezone.now()
    rows = {
        row["source"]: row
        for row in EngineBreaker.objects.filter(source__in={GLOBAL_SOURCE, source[:128]}).values(
            "source", "state", "forced", "retry_at", "consecutive_failures", "reason"
        )
    }
    glob = rows.get(GLOBAL_SOURCE)
    if glob is not None and glob["state"] != E.CLOSED:
        return CheckResult(
            NAME,
            False,
            f"the global breaker is open: {glob['reason']}; lifts when an admin closes it",
            metric="global_breaker_state",
            value=glob["state"],
            threshold=E.CLOSED,
            blocked_by=hold_key(GLOBAL_SOURCE),
        )
    if source == GLOBAL_SOURCE:
        return _closed()
    row = rows.get(source[:128])
    if row is None or row["state"] == E.CLOSED:
        return _closed()
    if row["state"] == E.OPEN:
        threshold = tunables.get("engine_breaker.failure_threshold")
        if row["forced"]:
            return CheckResult(
                NAME,
                False,
                f"{source}'s breaker is held open by an admin: {row['reason']}",
                metric="engine_breaker_state",
                value=E.OPEN,
                threshold=E.CLOSED,
                blocked_by=hold_key(source),
            )
        if row["retry_at"] and row["retry_at"] > now:
            value: int | str
            limit: int | str
            if row["consecutive_failures"] >= threshold:
                metric, value, limit = (
                    "consecutive_failures",
                    row["consecutive_failures"],
                    threshold,
                )
            else:  # re-opened by a failed trial while half-open
                successes = tunables.get("engine_breaker.success_threshold")
                metric, value, limit = (
                    "half_open_trial",
                    "failed",
                    f"{successes} successes in a row",
                )
            return CheckResult(
                NAME,
                False,
                f"{source}'s breaker is open: {row['reason']}",
                metric=metric,
                value=value,
                threshold=limit,
                retry_at=row["retry_at"],
                blocked_by=hold_key(source),
            )
        if move:
            half_open(source, now)
    return CheckResult(
        NAME,
        True,
        "half-open: a limited trial may pass",
        metric="engine_breaker_state",
        value=E.HALF_OPEN,
        threshold=E.CLOSED,
    )


def half_open(source: str, now: datetime) -> bool:
    """OPEN → HALF_OPEN once the cool-down is over; True for the one caller that moved it."""
    with transaction.atomic():
        moved = EngineBreaker.objects.filter(
            source=source[:128], state=E.OPEN, forced=False, retry_at__lte=now
        ).update(
            state=E.HALF_OPEN,
            trials_admitted=0,
            consecutive_successes=0,
            consecutive_failures=0,  # the trial period counts afresh
            changed_at=now,
            reason="cool-down over: a limited trial",
            changed_by=None,
        )
        if moved:
            breaker = EngineBreaker.objects.get(source=source[:128])
            record_event(
                "breaker.engine",
                "system",
                from_state=E.OPEN,
                to_state=E.HALF_OPEN,
                reason=breaker.reason,
                data=breaker.as_json(),
            )
            broadcast("engine_breaker", breaker.as_json())
            _lift_later(source)
    return bool(moved)


def trial_places(source: str) -> int:
    """How many more of this engine's patches may go on now: none while OPEN, the free trial
    places while HALF_OPEN, any number (-1) while CLOSED."""
    row = (
        EngineBreaker.objects.filter(source=source[:128]).values("state", "trials_admitted").first()
    )
    if row is None or row["state"] == E.CLOSED:
        return -1
    if row["state"] == E.OPEN:
        return 0
    return max(0, tunables.get("engine_breaker.half_open_trials") - row["trials_admitted"])


def admit_trial(stage: str, result: CheckResult, source: str) -> CheckResult:
    """At apply, while HALF_OPEN, take one of the limited trial places or be told to wait."""
    if stage != "apply" or result.value != E.HALF_OPEN:
        return result
    limit = tunables.get("engine_breaker.half_open_trials")
    with transaction.atomic():
        admitted = EngineBreaker.objects.filter(
            source=source[:128], state=E.HALF_OPEN, trials_admitted__lt=limit
        ).update(trials_admitted=F("trials_admitted") + 1)
        if admitted:
            return CheckResult(
                NAME,
                True,
                "half-open: admitted as a trial",
                metric="trials_in_flight",
                value="admitted",
                threshold=limit,
            )
        current = EngineBreaker.objects.get(source=source[:128])
    if current.state != E.HALF_OPEN:
        return check(stage, source)
    return CheckResult(
        NAME,
        False,
        f"{source}'s breaker is half-open and all {limit} trial places are in flight; "
        "waits for their outcomes",
        metric="trials_in_flight",
        value=current.trials_admitted,
        threshold=limit,
        retry_at=timezone.now() + timedelta(seconds=30),
        blocked_by=hold_key(source),
    )


def release_trial(source: str) -> None:
    EngineBreaker.objects.filter(source=source[:128], trials_admitted__gt=0).update(
        trials_admitted=F("trials_admitted") - 1
    )


def record(success: bool, actor: Actor, source: str) -> None:
    """Count one outcome of `source`; opens, half-opens back to open, or closes as the design
    says. The caller holds this engine's row lock (record_outcome)."""
    breaker = lock(source)
    failure_threshold, success_threshold, cooldown = (
        tunables.get("engine_breaker.failure_threshold"),
        tunables.get("engine_breaker.success_threshold"),
        tunables.get("engine_breaker.cooldown_seconds"),
    )
    now = timezone.now()
    fields = ["consecutive_failures", "consecutive_successes"]
    if success:
        breaker.consecutive_failures = 0
        breaker.consecutive_successes += 1
    else:
        breaker.consecutive_failures += 1
        breaker.consecutive_successes = 0
    if breaker.state == E.HALF_OPEN:
        breaker.trials_admitted = max(0, breaker.trials_admitted - 1)
        fields.append("trials_admitted")
    if breaker.forced:
        breaker.save(update_fields=fields)
        return
    if breaker.state == E.CLOSED and breaker.consecutive_failures >= failure_threshold:
        _open(breaker, now, cooldown, fields)
        _transition(
            breaker,
            E.OPEN,
            actor,
            f"{breaker.consecutive_failures} consecutive failures (threshold {failure_threshold})",
            fields,
        )
    elif breaker.state == E.HALF_OPEN and not success:
        _open(breaker, now, cooldown, fields)
        _transition(breaker, E.OPEN, actor, "a trial failed while half-open", fields)
    elif breaker.state == E.HALF_OPEN and breaker.consecutive_successes >= success_threshold:
        breaker.trials_admitted = 0
        breaker.retry_at = None
        breaker.opened_at = None
        fields += ["trials_admitted", "retry_at", "opened_at"]
        _transition(
            breaker,
            E.CLOSED,
            actor,
            f"{breaker.consecutive_successes} consecutive trial successes",
            fields,
        )
    else:
        breaker.save(update_fields=fields)
        if breaker.state == E.HALF_OPEN:
            _lift_later(breaker.source)  # a trial place came free: the next held patch may go


def _open(breaker: EngineBreaker, now: datetime, cooldown: int, fields: list[str]) -> None:
    breaker.opened_at = now
    breaker.retry_at = now + timedelta(seconds=cooldown)
    breaker.trials_admitted = 0
    fields += ["opened_at", "retry_at", "trials_admitted"]


# --- admin actions --------------------------------------------------------------------------


def force_open(actor: Actor, reason: str, source: str = GLOBAL_SOURCE) -> EngineBreaker:
    breaker = lock(source)
    breaker.forced = True
    breaker.opened_at = timezone.now()
    breaker.retry_at = None
    breaker.trials_admitted = 0
    _transition(
        breaker, E.OPEN, actor, reason, ["forced", "opened_at", "retry_at", "trials_admitted"]
    )
    return breaker


def force_close(actor: Actor, reason: str, source: str = GLOBAL_SOURCE) -> EngineBreaker:
    breaker = lock(source)
    breaker.forced = False
    breaker.consecutive_failures = 0
    breaker.trials_admitted = 0
    breaker.retry_at = None
    breaker.opened_at = None
    _transition(
        breaker,
        E.CLOSED,
        actor,
        reason,
        ["forced", "consecutive_failures", "trials_admitted", "retry_at", "opened_at"],
    )
    return breaker


def reset(actor: Actor, reason: str, source: str = GLOBAL_SOURCE) -> EngineBreaker:
    breaker = lock(source)
    breaker.forced = False
    breaker.consecutive_failures = breaker.consecutive_successes = breaker.trials_admitted = 0
    breaker.retry_at = breaker.opened_at = None
    fields = [
        "forced",
        "consecutive_failures",
        "consecutive_successes",
        "trials_admitted",
        "retry_at",
        "opened_at",
    ]
    _transition(breaker, E.CLOSED, actor, reason, fields)
    record_event(
        "breaker.reset",
        actor,
        reason=reason,
        data={"scope": "global" if breaker.is_global else "engine", "source": breaker.source},
    )
    return breaker
