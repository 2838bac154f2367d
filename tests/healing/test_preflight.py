"""Pre-flight checks: every block names its metric, value, threshold and when it may go again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from healing.actions import do_change_setting, do_emergency_stop
from healing.breakers import note_application, run_preflight
from healing.contrib import HEALTH_SOURCES, HealthMetric, HealthReport
from healing.models import ApplicationSlot, Modification
from tests import factories
from tests.judgement_helpers import healthy_monitor, install_health_stand_in  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def check(result: Any, name: str) -> Any:
    return next(c for c in result.checks if c.name == name)


@pytest.mark.usefixtures("healthy_monitor")  # not about health: this busy machine must not matter
def test_it_passes_a_quiet_patch_and_stores_the_result_per_stage(workspace: Any) -> None:
    mod = factories.make_modification(workspace, error_type="logic", risk_level="low")
    intake = run_preflight(mod, stage="intake")
    assert intake.ok
    assert [c.name for c in intake.checks] == [
        "emergency_stop",
        "engine_breaker",
        "breaker",
        "cascade",
        "anomaly",
    ]
    applied = run_preflight(mod, stage="apply")
    assert applied.ok
    assert [c.name for c in applied.checks][-2:] == ["anomaly", "rate_limit"]
    stored = Modification.objects.get(pk=mod.pk).preflight
    assert set(stored) == {"intake", "apply"} and stored["apply"]["ok"] is True


def test_it_judges_health_with_the_real_monitor(workspace: Any) -> None:
    result = run_preflight(factories.make_modification(workspace), stage="apply")
    health = check(result, "health")
    assert health.value != "unknown", health.reason


def test_it_blocks_on_a_health_metric_out_of_bounds(workspace: Any, admin_user: Any) -> None:
    # A real measurement against a threshold no machine meets: available memory must be ≥ 99.9 %.
    do_change_setting(admin_user, "health.memory_min_available_percent", 99.9)
    result = run_preflight(factories.make_modification(workspace), stage="apply")
    health = check(result, "health")
    assert not result.ok and not health.ok
    assert (health.metric, health.threshold) == ("memory_available", 99.9)
    assert health.value < 99.9
    assert health.retry_at is not None
    assert not ApplicationSlot.objects.exists()  # a blocked patch takes no rate-limit place


def test_it_blocks_on_a_metric_the_monitor_reports_out_of_bounds(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = HealthReport(
        ok=False,
        status="UNHEALTHY",
        score=0.6,
        min_score=0.8,
        window_seconds=120,
        metrics={
            "error_rate": HealthMetric(value=0.12, threshold=0.05, ok=False),
            "memory": HealthMetric(value=45.0, threshold=20.0, ok=True, comparison=">="),
        },
    )
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(report))
    result = run_preflight(factories.make_modification(workspace), stage="apply")
    health = check(result, "health")
    assert not result.ok and not health.ok
    assert (health.metric, health.value, health.threshold) == ("error_rate", 0.12, 0.05)
    assert health.retry_at is not None
    assert not ApplicationSlot.objects.exists()  # a blocked patch takes no rate-limit place


def test_it_blocks_on_a_low_health_score_without_a_failing_metric(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = HealthReport(
        ok=False,
        status="DEGRADED",
        score=0.7,
        min_score=0.8,
        window_seconds=60,
        reason="system health degraded",
        metrics={"cpu": HealthMetric(value=50, threshold=90, ok=True)},
    )
    monkeypatch.setitem(HEALTH_SOURCES, "monitoring", install_health_stand_in(report))
    health = check(run_preflight(factories.make_modification(workspace), stage="apply"), "health")
    assert not health.ok and (health.metric, health.value, health.threshold) == (
        "health_score",
        0.7,
        0.8,
    )


def test_it_does_not_block_when_the_health_monitor_raises(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        HEALTH_SOURCES, "monitoring", install_health_stand_in(RuntimeError("psutil went away"))
    )
    health = check(run_preflight(factories.make_modification(workspace), stage="apply"), "health")
    assert health.ok and "psutil went away" in health.reason and health.value == "unknown"


@pytest.mark.usefixtures("healthy_monitor")  # not about health: this busy machine must not matter
def test_it_allows_ten_applications_a_minute_and_says_when_the_next_may_go(workspace: Any) -> None:
    mods = [factories.make_modification(workspace) for _ in range(11)]
    for mod in mods[:10]:
        assert run_preflight(mod, stage="apply").ok
        note_application(mod)
    result = run_preflight(mods[10], stage="apply")
    limit = check(result, "rate_limit")
    assert not result.ok
    assert (limit.metric, limit.value, limit.threshold) == ("applications_per_60s", 10, 10)
    first = ApplicationSlot.objects.order_by("reserved_at").first()
    assert limit.retry_at == first.reserved_at + timedelta(seconds=60)
    assert ApplicationSlot.objects.filter(applied_at__isnull=False).count() == 10
    # Running the pre-flight again for a patch that holds a place does not take a second one.
    assert run_preflight(mods[0], stage="apply").ok


@pytest.mark.usefixtures("healthy_monitor")  # not about health: this busy machine must not matter
def test_it_follows_the_admins_rate_limit(workspace: Any) -> None:
    do_change_setting(None, "rate_limit.applications_per_window", 2)
    mods = [factories.make_modification(workspace) for _ in range(3)]
    assert [run_preflight(m, stage="apply").ok for m in mods] == [True, True, False]


@pytest.mark.parametrize(
    ("level", "blocked"), [("none", False), ("high", False), ("critical", True)]
)
def test_it_blocks_on_the_anomaly_level(workspace: Any, level: str, blocked: bool) -> None:
    result = run_preflight(factories.make_modification(workspace, risk_level=level), stage="intake")
    anomaly = check(result, "anomaly")
    assert anomaly.ok is not blocked
    assert (anomaly.metric, anomaly.value, anomaly.threshold) == (
        "anomaly_risk",
        level,
        "below critical",
    )


def test_it_blocks_everything_during_an_emergency_stop(workspace: Any, operator: Any) -> None:
    do_emergency_stop(operator, "runaway agent")
    result = run_preflight(factories.make_modification(workspace), stage="apply")
    stop = check(result, "emergency_stop")
    assert not stop.ok and stop.retry_at is None and "runaway agent" in stop.reason
    assert "lifts on emergency_stop" in result.reason
    assert not ApplicationSlot.objects.exists()


def test_it_refuses_an_unknown_stage(workspace: Any) -> None:
    with pytest.raises(ValueError, match="stage"):
        run_preflight(factories.make_modification(workspace), stage="whenever")


def test_it_keeps_only_the_emergency_stop_and_rate_limit_when_safety_is_switched_off(
    workspace: Any, admin_user: Any, operator: Any
) -> None:
    do_change_setting(admin_user, "safety.safety_enabled", False)
    mod = factories.make_modification(workspace, risk_level="critical")
    result = run_preflight(mod, stage="apply")
    assert result.ok and [c.name for c in result.checks] == ["emergency_stop", "rate_limit"]
    do_emergency_stop(operator, "still the big red button")
    assert not run_preflight(mod, stage="apply").ok
