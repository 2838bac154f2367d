"""What the other apps contribute to the core, registered from their `AppConfig.ready()`.

`healing` imports no other app: monitoring gives the system's health to the pre-flight and to
the post-apply watch by registering a health source here; self-debugging gives the stalled-work
sweeper its own sweep and the confidence score the coverage of its last diagnostic run. A source that nobody registered is a
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


# Work an app queues that a lost broker message can strand: each sweep sends its stalled rows
# again and returns what it sent. healing.requeue_stalled runs them all, each under its name.
# Optional: an app that is not installed queues nothing to sweep.
StalledSweep = Callable[[], list[Any]]
STALLED_SWEEPS: dict[str, StalledSweep] = {}


def register_stalled_sweep(name: str, sweep: StalledSweep) -> StalledSweep:
    STALLED_SWEEPS[name] = sweep
    return sweep


@dataclass(frozen=True)
class CoverageSource:
    """Line coverage (0..1, or None when never measured) of a workspace's tests, measured
    outside a patch's sandbox run; the confidence score's fallback when that run measured none."""

    measure: Callable[[Any], float | None]
    description: str  # where the number comes from, shown with the score


# Optional: without one, the score falls back to the coverage the patch claims.
COVERAGE_SOURCES: dict[str, CoverageSource] = {}


def register_coverage_source(app_label: str, source: CoverageSource) -> CoverageSource:
    COVERAGE_SOURCES[app_label] = source
    return source


@checks.register()
def check_contributors(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    try:
        health_source()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="healing.E001")]
    return []
