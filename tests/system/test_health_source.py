"""healing.contrib's health source: without one, the safety checks that read health refuse to
run (and the system check says so at start-up) instead of passing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

from healing.apply.tasks import apply_modification, watch_application
from healing.breakers import run_preflight
from healing.contrib import HEALTH_SOURCES, MissingContributor
from healing.models import ApplicationSlot, Modification
from tests import factories
from tests.apply_helpers import approved_modification, make_repo
from tests.judgement_helpers import healthy_monitor  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backups_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")


def _unregister_monitoring(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a build without monitoring (or a monitoring whose ready() broke) looks like.
    monkeypatch.delitem(HEALTH_SOURCES, "monitoring")


def test_it_is_registered_by_monitoring_at_start_up() -> None:
    from monitoring.host_health import preflight_health

    assert {"monitoring": preflight_health} == HEALTH_SOURCES
    assert "healing.E001" not in {m.id for m in run_checks()}


def test_it_fails_the_system_check_when_no_app_registered_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _unregister_monitoring(monkeypatch)
    errors = [m for m in run_checks() if m.id == "healing.E001"]
    assert len(errors) == 1 and "monitoring" in errors[0].msg


def test_it_refuses_the_apply_preflight_instead_of_passing_it(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = factories.make_modification(workspace)
    _unregister_monitoring(monkeypatch)
    with pytest.raises(MissingContributor):
        run_preflight(mod, stage="apply")
    assert Modification.objects.get(pk=mod.pk).preflight in ({}, None)
    assert not ApplicationSlot.objects.exists()


def test_it_leaves_an_approved_patch_unapplied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc", isolation_level="partial")
    head = ws.head_commit()
    mod = approved_modification(ws)
    _unregister_monitoring(monkeypatch)
    with pytest.raises(MissingContributor):
        apply_modification(mod.pk)
    assert Modification.objects.get(pk=mod.pk).status == "approved"
    assert ws.head_commit() == head


@pytest.mark.usefixtures("healthy_monitor")
def test_it_refuses_to_watch_an_applied_patch_instead_of_calling_it_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = factories.make_workspace(make_repo(tmp_path), name="calc", isolation_level="partial")
    mod = approved_modification(ws)
    assert apply_modification(mod.pk) == "applied"
    _unregister_monitoring(monkeypatch)
    with pytest.raises(MissingContributor):
        watch_application(mod.pk, 0.0)
    assert Modification.objects.get(pk=mod.pk).status == "applied"
    # Neither a verdict of health (finish_watch's outcome) nor a rollback.
    assert not mod.outcomes.filter(stage="verify").exists()
