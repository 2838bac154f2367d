"""Upgrading keeps engines working: DRF's plain-text keys become hashed tokens (and are wiped
from DRF's table), and `workspace:<name>` group grants become grants on the member's tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from tests import factories
from tests.intake_helpers import envelope

OLD_KEY = "0123456789abcdef0123456789abcdef01234567"
Target = list[tuple[str, str]]


def _targets() -> tuple[Target, Target, Target]:
    """Just before the tokens migration, at it (whatever number it gets at merge), and latest."""
    graph = MigrationExecutor(connection).loader.graph
    at = next(key for key in graph.nodes if key[1].endswith("_api_tokens"))
    before = [p.key for p in graph.node_map[at].parents if p.key[0] == "healing"]
    return before, [at], graph.leaf_nodes()


def _migrate(target: Target) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_it_carries_drf_keys_and_group_grants_over(tmp_path: Path) -> None:
    before, at, latest = _targets()
    old = _migrate(before)
    try:
        User, Group = old.get_model("auth", "User"), old.get_model("auth", "Group")
        Workspace = old.get_model("healing", "Workspace")
        repo = factories.make_git_repo(tmp_path / "repo")
        for name in ("demo", "billing"):
            Workspace.objects.create(name=name, path=str(repo), branch="main")
        bot = User.objects.create(username="old-bot", password="!")
        bot.groups.add(
            Group.objects.get_or_create(name="agent")[0],
            Group.objects.create(name="workspace:demo"),
        )
        with connection.cursor() as cursor:
            # As rest_framework.authtoken's own migration made it in an installation being upgraded.
            cursor.execute(
                "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                "created timestamp NOT NULL, user_id integer NOT NULL UNIQUE)"
            )
            cursor.execute(
                "INSERT INTO authtoken_token VALUES (%s, '2026-01-01 00:00:00', %s)",
                [OLD_KEY, bot.pk],
            )
        _migrate(at)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0
        # The API runs against today's models: the migrations after this one apply first.
        _migrate(latest)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {OLD_KEY}")
        refused = client.post("/api/v1/patches/", envelope(workspace="billing"), format="json")
        assert refused.json()["fields"]["workspace"] == ["This token may submit to: demo."]
        assert client.post("/api/v1/patches/", envelope(), format="json").status_code == 201
        assert not Group.objects.filter(name__startswith="workspace:").exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")
        _migrate(latest)
