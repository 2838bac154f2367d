"""The workspace's page in the console lists its environment builds, and why a failed one
failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from healing.models import EnvironmentBuild
from healing.sandbox.environment_tasks import build_environment
from healing.sandbox.environments import EnvironmentNotReady, ensure
from healing.sandbox_probe import bubblewrap_works
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not bubblewrap_works()[0], reason="needs bubblewrap"),
]


def test_it_shows_a_failed_build_with_its_log_tail_on_the_workspace_page(
    settings: Any, tmp_path: Path, reviewer: Any
) -> None:
    settings.SELFHEAL_ENVIRONMENTS = str(tmp_path / "environments")
    ws = factories.make_workspace(
        factories.make_git_repo(tmp_path / "repo"), name="shop", isolation_level="full",
        languages=["javascript"], setup_command="echo 'ERROR: No matching distribution'; exit 1",
    )  # fmt: skip
    with pytest.raises(EnvironmentNotReady):
        ensure(ws, ws.head_commit())
    assert build_environment(EnvironmentBuild.objects.get().pk) == "failed"
    client = Client()
    client.force_login(reviewer)
    html = client.get(f"/workspaces/{ws.pk}/").content.decode()
    builds = html.split('id="environment-builds"', 1)[1].split("</section>", 1)[0]
    assert 'data-environment="failed"' in builds
    assert "ERROR: No matching distribution" in builds
