"""The workspaces page: search, pagination, isolation (and whether this machine gives it), the
breaker column, the latest patches; a constant number of queries per page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from healing.breakers.actions import do_workspace_breaker_action
from healing.models import Workspace
from healing.sandbox import backends
from tests import factories

pytestmark = pytest.mark.django_db


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _open_some_breakers(workspaces: list[Workspace], admin_user: Any, every: int) -> None:
    for w in workspaces[::every]:
        do_workspace_breaker_action(admin_user, w.pk, "force-open", "flaky fixes", "logic")


def test_it_costs_the_same_queries_at_10_and_200_workspaces(
    client: Any, reviewer: Any, admin_user: Any
) -> None:
    client.force_login(reviewer)
    client.get("/dashboard/panels/")  # the first request of a session creates its rows
    few = factories.bulk_workspaces(10, patches_each=5, prefix="few")
    _open_some_breakers(few, admin_user, 3)
    small = _queries(client, "/workspaces/")
    many = factories.bulk_workspaces(190, patches_each=5, prefix="many")
    _open_some_breakers(many, admin_user, 10)
    assert Workspace.objects.count() == 200
    large = _queries(client, "/workspaces/")
    searched = _queries(client, "/workspaces/?q=many&page=3")
    assert large == small == searched, (small, large, searched)
    assert large <= 12


def test_it_shows_isolation_breaker_and_the_three_latest_patches(
    client: Any, reviewer: Any, admin_user: Any
) -> None:
    ws = factories.bulk_workspaces(2, patches_each=5, prefix="show", isolation_level="none")
    do_workspace_breaker_action(admin_user, ws[0].pk, "force-open", "bad week", "syntax")
    client.force_login(reviewer)
    page = client.get("/workspaces/").content.decode()
    row = re.search(r'<tr data-workspace="show-00000">.*?</tr>', page, re.S).group(0)
    assert "NO ISOLATION" in row
    assert 'data-breaker="SYNTAX_OPEN"' in row and 'data-circuit="syntax"' in row
    # Newest first, three of five, each linked to its review page.
    assert re.findall(r">(show-00000-p\d)</a>", row) == [
        "show-00000-p0",
        "show-00000-p1",
        "show-00000-p2",
    ]
    assert "/patches/" in row
    other = re.search(r'<tr data-workspace="show-00001">.*?</tr>', page, re.S).group(0)
    assert 'data-breaker="CLOSED"' in other and "show-00000" not in other
    assert 'href="/workspaces/"' in page  # the nav links here


def test_it_searches_by_name_and_path_and_paginates(client: Any, reviewer: Any) -> None:
    factories.bulk_workspaces(120, prefix="alpha")
    factories.bulk_workspaces(3, prefix="beta")
    client.force_login(reviewer)
    first = client.get("/workspaces/?q=alpha").content.decode()
    assert "120 workspace(s) match" in first and "Page 1 of 3" in first
    assert first.count('data-workspace="alpha-') == 50 and "beta-" not in first
    last = client.get("/workspaces/?q=alpha&page=3").content.decode()
    assert last.count('data-workspace="alpha-') == 20
    assert "q=alpha" in last  # the pager keeps the search
    by_path = client.get("/workspaces/?q=/srv/repos/beta-0000").content.decode()
    assert by_path.count('data-workspace="beta-') == 3
    none = client.get("/workspaces/?q=nothing-like-this").content.decode()
    assert "No workspace matches." in none


def test_it_filters_by_level_and_by_what_this_machine_cannot_give(
    client: Any, reviewer: Any, monkeypatch: Any
) -> None:
    factories.bulk_workspaces(6, prefix="lvl")  # full, partial, none, full, partial, none
    client.force_login(reviewer)
    page = client.get("/workspaces/?isolation=none").content.decode()
    assert page.count('data-workspace="lvl-') == 2
    # A machine without bubblewrap: FULL is not given, and the page says so.
    monkeypatch.setattr(
        backends.REGISTRY["full"], "available", lambda: (False, "bubblewrap is missing")
    )
    page = client.get("/workspaces/?unavailable=1").content.decode()
    assert page.count('data-workspace="lvl-') == 2
    assert "not available here: bubblewrap is missing" in page


def test_it_shows_a_workspace_with_its_patches(client: Any, reviewer: Any, workspace: Any) -> None:
    mod = factories.make_modification(workspace)
    client.force_login(reviewer)
    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert "Workspace demo" in page and mod.get_absolute_url() in page
    assert client.get("/workspaces/999999/").status_code == 404


def test_it_refuses_agents_and_outsiders(
    client: Any, agent: Any, outsider: Any, workspace: Any
) -> None:
    for person in (agent, outsider):
        client.force_login(person)
        assert client.get("/workspaces/").status_code == 403
        assert client.get(f"/workspaces/{workspace.pk}/").status_code == 403
