"""Shared helpers of the judgement tests: real rows, real outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from healing.breakers import record_outcome
from healing.contrib import HEALTH_SOURCES, HealthMetric, HealthReport, HealthSource
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


HEALTHY = HealthReport(
    ok=True,
    status="HEALTHY",
    score=1.0,
    min_score=0.8,
    window_seconds=300,
    metrics={"error_rate": HealthMetric(value=0.0, threshold=0.05, ok=True)},
)


def install_health_stand_in(report: HealthReport | Exception) -> HealthSource:
    """A health source that answers `report` (or raises it): tests about the other checks must
    not depend on this shared machine's load. Register it in monitoring's place with
    `monkeypatch.setitem(contrib.HEALTH_SOURCES, "monitoring", ...)`."""

    def stand_in() -> HealthReport:
        if isinstance(report, Exception):
            raise report
        return report

    return stand_in


@pytest.fixture
def healthy_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(HEALTHY))
