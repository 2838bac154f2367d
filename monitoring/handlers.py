"""What each healing action does when it is executed (after approval, or alone when its strategy
may act alone). One function per action kind, in a registry. Each returns a one-line outcome or
raises HandlerError; the caller records either on the HealingAttempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from healing.apply import do_rollback
from healing.breakers.actions import do_force_open_breaker

from .models import HealingActionKind, HealingAttempt


class HandlerError(Exception):
    pass


Handler = Callable[[HealingAttempt, Any], str]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return wrap


@handler(HealingActionKind.ROLLBACK)
def rollback(attempt: HealingAttempt, actor: Any) -> str:
    mod = attempt.modification
    if mod is None:
        raise HandlerError("the modification to roll back is gone")
    reason = f"healing loop: {attempt.strategy} — {attempt.finding.get('metric')} {attempt.finding.get('value')} (threshold {attempt.finding.get('threshold')})"
    result = do_rollback(mod, actor, reason)
    return f"rolled back {mod.patch_id}: now {getattr(result, 'status', '?')}"


@handler(HealingActionKind.OPEN_BREAKER)
def open_breaker(attempt: HealingAttempt, actor: Any) -> str:
    """Force a breaker open through the judgement area's own actions: the error type's circuit
    of the workspace when both are known, else the engine-wide breaker."""
    reason = (
        f"healing loop: {attempt.strategy} — {attempt.finding.get('metric')} "
        f"{attempt.finding.get('value')} (threshold {attempt.finding.get('threshold')})"
    )
    args = attempt.action_args
    if args.get("scope") == "error_type":
        return do_force_open_breaker(
            actor, reason, workspace_id=args.get("workspace_id"), error_type=args.get("error_type")
        )
    return do_force_open_breaker(actor, reason)


@handler(HealingActionKind.RESET_BASELINE)
def reset_baseline(attempt: HealingAttempt, actor: Any) -> str:
    from .actions.snapshots import do_set_baseline

    source = attempt.action_args.get("source") or attempt.source
    baseline = do_set_baseline(actor, source=source, reason=f"healing loop: {attempt.strategy}")
    return f"baseline of {source} reset from {baseline.sample_count} recent snapshots"


@handler(HealingActionKind.RESTART_WORKERS)
def restart_workers(attempt: HealingAttempt, actor: Any) -> str:
    from selfheal_site.celery import app

    try:
        replies = app.control.broadcast(
            "pool_restart", arguments={"reload": False}, reply=True, timeout=3
        )
    except Exception as exc:  # noqa: BLE001 - a broker outage is the outcome, not a crash of the loop
        raise HandlerError(f"could not reach the workers: {exc}") from exc
    if not replies:
        raise HandlerError("no worker answered the pool restart")
    errors = [
        r for reply in replies for r in reply.values() if isinstance(r, dict) and "error" in r
    ]
    if errors:
        raise HandlerError(
            f"pool restart refused: {errors[0]['error']} (set CELERY_WORKER_POOL_RESTARTS=True)"
        )
    return f"pool restart sent to {len(replies)} worker(s)"
