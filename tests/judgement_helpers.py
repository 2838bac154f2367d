"""Shared helpers of the judgement tests (issue #5): real rows, real outcomes."""

from __future__ import annotations

import sys
import types
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from healing.breakers import record_outcome
from healing.models import EngineBreaker, ErrorTypeCircuit
from tests import factories


def fail(workspace: Any, error_type: str = "logic", n: int = 1, **fields: Any) -> list[Any]:
    return outcomes(workspace, error_type, [False] * n, **fields)


def succeed(workspace: Any, error_type: str = "logic", n: int = 1, **fields: Any) -> list[Any]:
    return outcomes(workspace, error_type, [True] * n, **fields)


def outcomes(
    workspace: Any, error_type: str, results: list[bool], stage: str = "apply", **fields: Any
) -> list[Any]:
    mods = []
    for success in results:
        mod = factories.make_modification(workspace, error_type=error_type, **fields)
        record_outcome(mod, success=success, stage=stage)
        mods.append(mod)
    return mods


def cool_down_circuit(workspace: Any, error_type: str) -> None:
    """Time passes: the circuit's cool-down is over."""
    ErrorTypeCircuit.objects.filter(workspace=workspace, error_type=error_type).update(
        retry_at=timezone.now() - timedelta(seconds=1)
    )


def cool_down_engine(source: str = "agent:factory") -> None:
    """Time passes: the cool-down of this engine's breaker (the factories' source) is over."""
    EngineBreaker.objects.filter(source=source).update(
        retry_at=timezone.now() - timedelta(seconds=1)
    )


HEALTHY = {
    "ok": True,
    "status": "healthy",
    "score": 1.0,
    "min_score": 0.8,
    "window_seconds": 300,
    "metrics": {"error_rate": {"value": 0.0, "threshold": 0.05, "ok": True}},
}


def install_health_stand_in(report: dict | Exception) -> types.ModuleType:
    """monitoring.health belongs to issue #6: tests about the other checks must not depend on
    this shared machine's load, so they get a stand-in with the contract's shape."""
    module = types.ModuleType("monitoring.health")

    def preflight_health() -> dict:
        if isinstance(report, Exception):
            raise report
        return report

    module.preflight_health = preflight_health  # type: ignore[attr-defined]
    return module


@pytest.fixture
def healthy_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "monitoring.health", install_health_stand_in(HEALTHY))
