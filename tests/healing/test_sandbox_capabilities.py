"""The machine's sandbox capability, as /healthz and the dashboard show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from healing.sandbox import capabilities
from healing.sandbox_probe import bubblewrap_works
from tests import factories


def test_it_names_the_best_level_and_each_backend(db: Any) -> None:
    caps = capabilities()
    assert set(caps["levels"]) == {"full", "partial", "none"}
    assert caps["best"] == ("full" if bubblewrap_works()[0] else "partial")
    assert "NO ISOLATION" in caps["levels"]["none"]["detail"]


def test_it_shows_in_healthz_and_names_workspaces_it_cannot_serve(
    db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    factories.make_workspace(
        factories.make_git_repo(tmp_path / "r"), name="strict", isolation_level="full"
    )
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    client = Client()
    client.force_login(factories.make_user("cap-admin", role="admin"))  # names are for staff
    try:
        body = client.get("/healthz").json()
    finally:
        bubblewrap_works.cache_clear()
    sandbox = body["components"]["sandbox"]
    # Reported, not down: one workspace's configuration does not take the service away.
    assert sandbox["ok"] is True and sandbox["degraded"] is True
    assert "strict needs full" in sandbox["detail"]
    assert sandbox["capabilities"]["levels"]["full"]["available"] is False
    assert "sandbox" not in body["down"] and "sandbox" in body["degraded"]
