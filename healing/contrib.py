"""What the other apps contribute to the core, registered from their `AppConfig.ready()`.

`healing` imports no other app: monitoring gives the system's health to the pre-flight and to
the post-apply watch by registering a health source here. A source that nobody registered is a
configuration error (system check `healing.E001` at start-up, `MissingContributor` at first use),
never a check that passes because something was not there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


class MissingContributor(ImproperlyConfigured):
    """A registry the core relies on is empty: an app that should fill it is not installed."""


@dataclass(frozen=True)
class HealthMetric:
    value: float | None
    threshold: float
    ok: bool
    comparison: str = "<="  # "<=" or ">=": which side of the threshold is healthy
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class HealthReport:
    """The system's health over a window, judged against thresholds; a read, nothing stored."""

    ok: bool
    status: str  # HEALTHY | DEGRADED | UNHEALTHY | CRITICAL
    score: float
    min_score: float
    window_seconds: int
    metrics: dict[str, HealthMetric] = field(default_factory=dict)
    samples: int = 1
    basis: str = ""
    reason: str = ""
    hostname: str = ""

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


HealthSource = Callable[[], HealthReport]
# One entry per contributing app (its label); exactly one is expected.
HEALTH_SOURCES: dict[str, HealthSource] = {}


def register_health_source(app_label: str, source: HealthSource) -> HealthSource:
    HEALTH_SOURCES[app_label] = source
    return source


def health_source() -> HealthSource:
    if not HEALTH_SOURCES:
        raise MissingContributor(
            "No health source is registered: the pre-flight and the post-apply watch cannot "
            "judge health. Install the 'monitoring' app (it registers one in its ready())."
        )
    if len(HEALTH_SOURCES) > 1:
        raise ImproperlyConfigured(
            f"More than one health source is registered ({', '.join(sorted(HEALTH_SOURCES))})."
        )
    return next(iter(HEALTH_SOURCES.values()))


def current_health() -> HealthReport:
    """The registered source's report. Raises MissingContributor when there is none."""
    return health_source()()


@checks.register()
def check_contributors(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    try:
        health_source()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="healing.E001")]
    return []
