from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healing.actions import do_emergency_stop
from healing.models import Modification
from tests import factories
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _fill(workspace: Any, count: int) -> None:
    """`count` more modifications across the statuses the dashboard counts and lists."""
    share = max(1, count // 5)
    factories.bulk_modifications(
        workspace, share, status="awaiting_approval", safety_level="MEDIUM_RISK"
    )
    factories.bulk_modifications(workspace, share, status="applied", safety_level="LOW_RISK")
    factories.bulk_modifications(
        workspace, share, status="blocked", block_reason=f"breaker open for logic ({count})"
    )
    factories.bulk_modifications(workspace, share, status="sandboxing")
    factories.bulk_modifications(workspace, count - 4 * share, status="rejected")
    parent = factories.make_modification(workspace, status="applied")
    factories.make_modification(
        workspace,
        status="awaiting_approval",
        parent=parent,
        cascade_depth=1,
        safety_level="HIGH_RISK",
    )
    awaiting(workspace, "CRITICAL")  # with real audit events


def test_it_renders_in_a_constant_number_of_queries_at_10_and_1000_rows(
    workspace: Any, reviewer: Any, django_assert_max_num_queries: Any
) -> None:
    client = _client(reviewer)
    counts = {}
    for total in (10, 1000):
        _fill(workspace, total - Modification.objects.count() - 3)
        client.get("/")  # warm the session
        with django_assert_max_num_queries(30) as captured:
            response = client.get("/")
        assert response.status_code == 200
        counts[Modification.objects.count()] = len(captured)
    assert sorted(counts) == [10, 1000]
    assert counts[10] == counts[1000], counts


def test_it_shows_the_queue_with_age_and_safety_level(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "CRITICAL")
    html = _client(reviewer).get("/").content.decode()
    assert mod.patch_id in html and "CRITICAL" in html
    assert f'href="/patches/{mod.pk}/"' in html
    assert "wait for a reviewer" in html  # the reason nothing else is happening
    # Only LOW/MEDIUM rows get a bulk checkbox.
    assert f'id="sel-{mod.pk}"' not in html


def test_it_says_why_nothing_is_happening_when_the_queue_is_empty(reviewer: Any) -> None:
    html = _client(reviewer).get("/").content.decode()
    assert "Nothing is happening" in html
    assert "Empty queue" in html


def test_it_names_the_emergency_stop_as_the_reason(reviewer: Any, operator: Any) -> None:
    do_emergency_stop(operator, "runaway agent")
    html = _client(reviewer).get("/").content.decode()
    assert "Nothing is happening" in html
    assert "Emergency stop by olga-operator: runaway agent" in html
    assert 'id="emergency-banner"' in html and "runaway agent" in html


def test_it_names_blocks_such_as_an_open_breaker_as_the_reason(
    workspace: Any, reviewer: Any
) -> None:
    factories.make_modification(
        workspace, status="blocked", block_reason="breaker open for syntax until 12:00"
    )
    html = _client(reviewer).get("/").content.decode()
    assert "1 patch(es) blocked: breaker open for syntax until 12:00" in html


def test_it_shows_every_areas_panel_now_that_all_have_landed(reviewer: Any) -> None:
    html = _client(reviewer).get("/").content.decode()
    assert "Not available on this build" not in html
    assert "failed to load" not in html


def test_it_serves_the_panels_fragment_for_live_refresh(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    response = _client(reviewer).get("/dashboard/panels/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and mod.patch_id in html


def test_it_refuses_the_dashboard_to_agents(agent: Any) -> None:
    assert _client(agent).get("/").status_code == 403


def test_it_keeps_the_other_panels_when_another_areas_panel_fails(
    workspace: Any, reviewer: Any
) -> None:
    from django.db import connection

    from approvals import panels

    class Broken(panels.Panel):
        key = "zz_broken"
        title = "Broken"
        order = 55  # between breakers and the events panel
        isolated = True

        def context(self) -> dict[str, Any]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_of_another_area")
            return {}

    panels.register(Broken)
    try:
        mod = awaiting(workspace, "LOW_RISK")
        response = _client(reviewer).get("/")
    finally:
        panels.PANELS.pop("zz_broken")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This panel failed to load" in html
    # The events panel ran after the failure (on PostgreSQL: in a still usable transaction).
    events = html[html.index('id="event-stream"') :]
    assert mod.patch_id in events


def test_it_counts_workspaces_per_isolation_and_names_the_none_ones(
    workspace: Any, reviewer: Any, tmp_path: Any
) -> None:
    factories.make_workspace(tmp_path / "loose", name="loose", isolation_level="none")
    html = _client(reviewer).get("/").content.decode()
    levels = html.split('id="isolation-levels"', 1)[1].split("</ul>", 1)[0]
    assert 'data-isolation="partial"' in levels and "1 workspace<" in levels
    assert "NO ISOLATION" in levels and "demo" not in levels  # counted, not listed
    none = html.split('id="isolation-none"', 1)[1].split("</p>", 1)[0]
    assert "loose" in none and "more" not in none


def test_it_summarises_many_workspaces_and_links_the_rest(reviewer: Any) -> None:
    factories.bulk_workspaces(300, prefix="fleet")  # 100 each of full, partial, none
    client = _client(reviewer)
    client.get("/")  # warm the session
    html = client.get("/").content.decode()
    panel = html.split('id="isolation-levels"', 1)[1].split('id="isolation-none"', 1)[1]
    panel = panel.split("</p>", 1)[0]
    assert panel.count("fleet-") == 5
    assert 'href="/workspaces/?isolation=none">and 95 more</a>' in panel
    assert '?isolation=full">100 workspaces</a>' in html
    assert html.count("fleet-") < 20  # never one line per workspace


def test_it_names_a_workspace_whose_isolation_this_machine_cannot_give(
    reviewer: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from healing.sandbox_probe import bubblewrap_works

    factories.make_workspace(tmp_path / "strict", name="strict", isolation_level="full")
    client = _client(reviewer)
    client.get("/")  # warm the session before bubblewrap disappears from PATH
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        html = client.get("/").content.decode()
    finally:
        bubblewrap_works.cache_clear()
    assert "full — unavailable" in html
    assert "Workspace strict requires full isolation, which this machine cannot give" in html
    assert "its patches are blocked" in html
    unavailable = html.split('id="isolation-unavailable"', 1)[1].split("</p>", 1)[0]
    assert "strict" in unavailable and "more" not in unavailable


def test_it_never_names_a_block_that_no_longer_holds(
    workspace: Any, reviewer: Any, operator: Any, agent: Any
) -> None:
    from healing.actions import do_resume
    from healing.intake.actions import do_submit_patch
    from healing.intake.tasks import process_modification
    from tests.intake_helpers import envelope

    do_emergency_stop(operator, "drill")
    mod = do_submit_patch(envelope(), submitted_by=agent, source="agent:agent-7")
    assert process_modification.run(mod.pk) == "blocked"
    html = _client(reviewer).get("/").content.decode()
    assert "1 patch(es) blocked: emergency stop: drill" in html
    do_resume(operator, "over")  # the sweep has not moved the patch yet: it is still blocked
    html = _client(reviewer).get("/").content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "blocked"
    assert "patch(es) blocked" not in html


def test_it_shows_each_engines_breaker_with_its_failures_and_the_patches_it_holds(
    workspace: Any, reviewer: Any, agent: Any
) -> None:
    from healing.intake.actions import do_submit_patch
    from healing.intake.tasks import process_modification
    from tests.intake_helpers import envelope
    from tests.judgement_helpers import fail

    fail(workspace, n=5, source="agent:agent-7")
    mod = do_submit_patch(envelope(), submitted_by=agent, source="agent:agent-7")
    assert process_modification.run(mod.pk) == "blocked"
    html = _client(reviewer).get("/").content.decode()
    assert "<td>agent:agent-7</td>" in html and 'class="breaker-open"' in html
    assert f'href="/patches/{mod.pk}/">{mod.patch_id}</a>' in html
    assert "Breaker open for every error type from agent:agent-7 in every workspace" in html


def test_it_names_a_few_unavailable_workspaces_and_links_the_rest(
    reviewer: Any, monkeypatch: Any
) -> None:
    from healing.sandbox import backends

    factories.bulk_workspaces(12, prefix="strict", isolation_level="full")
    monkeypatch.setattr(
        backends.REGISTRY["full"], "available", lambda: (False, "bubblewrap is missing")
    )
    html = _client(reviewer).get("/").content.decode()
    unavailable = html.split('id="isolation-unavailable"', 1)[1].split("</p>", 1)[0]
    assert unavailable.count("strict-") == 5
    assert 'href="/workspaces/?unavailable=1">and 7 more</a>' in unavailable
    assert "12 workspaces require full isolation, which this machine cannot give" in html
    assert "strict-00004 and 7 more; their patches are blocked" in html


def test_it_writes_nothing_and_moves_no_breaker_when_rendered(
    workspace: Any, reviewer: Any, agent: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from healing.intake.actions import do_submit_patch
    from healing.intake.tasks import process_modification
    from healing.models import AuditEvent, EngineBreaker
    from tests.intake_helpers import envelope
    from tests.judgement_helpers import cool_down_engine, fail

    fail(workspace, n=5, source="agent:agent-7")
    mod = do_submit_patch(envelope(), submitted_by=agent, source="agent:agent-7")
    assert process_modification.run(mod.pk) == "blocked"
    cool_down_engine("agent:agent-7")
    events = AuditEvent.objects.count()
    client = _client(reviewer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert EngineBreaker.objects.get(source="agent:agent-7").state == "OPEN"
    assert AuditEvent.objects.count() == events
