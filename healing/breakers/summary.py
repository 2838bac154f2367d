"""What the console and the API show of the breakers: the global breaker, each engine's breaker
with its failures and the patches it holds, the open circuits and the rate limit."""

from __future__ import annotations

from typing import Any

from ..models import EngineBreaker, ErrorTypeCircuit, Hold, Modification
from ..models.breaker import GLOBAL_SOURCE
from ..models.breaker import EngineBreakerState as E
from . import ratelimit

HELD_LIMIT = 50


def held_by(kind: str, key: str) -> dict[str, Any]:
    """The patches one block holds, oldest first (at most HELD_LIMIT listed)."""
    holds = Hold.objects.filter(kind=kind, key=key, modification__status="blocked")
    patches = list(
        holds.order_by("modification__created_at", "modification_id").values(
            "modification_id", "modification__patch_id", "retry_at"
        )[:HELD_LIMIT]
    )
    return {
        "held": holds.count(),
        "held_patches": [
            {"id": p["modification_id"], "patch_id": p["modification__patch_id"]} for p in patches
        ],
    }


def engine_json(breaker: EngineBreaker) -> dict[str, Any]:
    kind, key = ("global_breaker", "") if breaker.is_global else ("engine_breaker", breaker.source)
    return {**breaker.as_json(), **held_by(kind, key)}


ENGINE_LIMIT = 200


def breakers_json() -> dict[str, Any]:
    """Every engine that has submitted: one that has no outcome yet has no row, and is closed."""
    rows = {b.source: b for b in EngineBreaker.objects.engines()[:ENGINE_LIMIT]}
    sources = set(rows) | set(
        Modification.objects.order_by().values_list("source", flat=True).distinct()[:ENGINE_LIMIT]
    )
    return {
        "global": engine_json(EngineBreaker.objects.peek(GLOBAL_SOURCE)),
        "engines": [
            engine_json(rows.get(source) or EngineBreaker(source=source))
            for source in sorted(sources - {GLOBAL_SOURCE})
        ],
    }


def console_summary() -> dict[str, Any]:
    """For the dashboard's breakers panel (approvals.panels.BreakersPanel)."""
    breakers: list[dict[str, Any]] = []
    for breaker in [EngineBreaker.objects.peek(GLOBAL_SOURCE), *EngineBreaker.objects.engines()]:
        if breaker.state == E.CLOSED and not breaker.consecutive_failures:
            continue
        data = engine_json(breaker)
        breakers.append(
            {
                "workspace": "every workspace",
                "source": breaker.source,  # the key of the console's buttons
                "engine": "global (every engine)" if breaker.is_global else breaker.source,
                "error_type": "every error type",
                "state": breaker.state.lower().replace("_", "-"),
                "retry_at": breaker.retry_at,
                "reason": breaker.reason,
                "failures": breaker.consecutive_failures,
                "held": data["held"],
                "held_patches": data["held_patches"],
            }
        )
    for circuit in (
        ErrorTypeCircuit.objects.filter(is_open=True)
        .select_related("workspace")
        .order_by("retry_at")[:50]
    ):
        breakers.append(
            {
                "workspace": circuit.workspace.name,
                "engine": circuit.source or "all",
                "error_type": circuit.error_type,
                "state": "open",
                "retry_at": circuit.retry_at,
                "reason": circuit.reason,
                "failures": circuit.consecutive_failures,
                **held_by(
                    "dual_breaker",
                    f"{circuit.workspace_id}:{circuit.error_type}:{circuit.source}",
                ),
            }
        )
    result = ratelimit.check(0)  # no modification of its own to leave out
    rate_limit = {
        "used": result.value,
        "limit": result.threshold,
        "window": result.metric.replace("applications_per_", "per "),
    }
    return {"breakers": breakers, "rate_limit": rate_limit}
