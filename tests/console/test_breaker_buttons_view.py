"""The dashboard's breaker buttons: force open, force close, reset, each with a reason, for
admins (the breakers API's role); reviewers and operators see the state but no buttons."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healing.models import AuditEvent, EngineBreaker, Modification
from tests.judgement_helpers import fail

pytestmark = pytest.mark.django_db

ENGINE = "agent:agent-7"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _tripped(workspace: Any) -> None:
    fail(workspace, n=5, source=ENGINE)
    assert EngineBreaker.objects.for_source(ENGINE).state == "OPEN"


@pytest.mark.parametrize(
    ("action", "source", "state"),
    [
        ("force-open", ENGINE, "OPEN"),
        ("force-close", ENGINE, "CLOSED"),
        ("reset", ENGINE, "CLOSED"),
        ("force-open", "", "OPEN"),
        ("force-close", "", "CLOSED"),
        ("reset", "", "CLOSED"),
    ],
)
def test_it_lets_an_admin_act_on_a_breaker_with_a_reason(
    admin_user: Any, workspace: Any, action: str, source: str, state: str
) -> None:
    _tripped(workspace)
    client = _client(admin_user)
    if source == "" and action != "force-open":
        opened = client.post("/breakers/force-open/", {"source": "", "reason": "before"})
        assert opened.status_code == 302
    response = client.post(
        f"/breakers/{action}/", {"source": source, "reason": "engine fixed upstream"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert EngineBreaker.objects.for_source(source).state == state
    event = AuditEvent.objects.filter(kind="breaker.engine").latest("id")
    assert (event.reason, event.actor, event.data["source"]) == (
        "engine fixed upstream",
        admin_user,
        source,
    )
    page = client.get("/").content.decode()
    assert "it is now " + state.lower() in page


@pytest.mark.parametrize("who", ["reviewer", "operator", "outsider"])
@pytest.mark.parametrize("action", ["force-open", "force-close", "reset"])
def test_it_refuses_every_action_to_a_non_admin(
    request: Any, workspace: Any, who: str, action: str
) -> None:
    _tripped(workspace)
    before = AuditEvent.objects.filter(kind="breaker.engine").count()
    user = request.getfixturevalue(who)
    response = _client(user).post(f"/breakers/{action}/", {"source": ENGINE, "reason": "mine"})
    assert response.status_code == 403
    assert EngineBreaker.objects.for_source(ENGINE).state == "OPEN"
    assert AuditEvent.objects.filter(kind="breaker.engine").count() == before


def test_it_shows_the_state_to_reviewers_and_operators_but_buttons_to_admins_only(
    admin_user: Any, operator: Any, reviewer: Any, workspace: Any
) -> None:
    _tripped(workspace)
    for user in (reviewer, operator):
        html = _client(user).get("/").content.decode()
        assert f'<tr data-breaker="{ENGINE}"><td>{ENGINE}</td>' in html
        assert "state-open" in html
        assert "/breakers/reset/" not in html
    html = _client(admin_user).get("/").content.decode()
    assert 'formaction="/breakers/reset/"' in html
    assert 'formaction="/breakers/force-open/"' in html
    assert 'formaction="/breakers/force-close/"' in html
    assert f'<input type="hidden" name="source" value="{ENGINE}">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_needs_a_reason(admin_user: Any, workspace: Any) -> None:
    _tripped(workspace)
    for reason in ("", "   "):
        response = _client(admin_user).post(
            "/breakers/reset/", {"source": ENGINE, "reason": reason}
        )
        assert response.status_code == 400
        assert "needs a reason" in response.content.decode()
    assert EngineBreaker.objects.for_source(ENGINE).state == "OPEN"
    assert not AuditEvent.objects.filter(kind="breaker.engine", actor=admin_user).exists()


def test_it_refuses_an_unknown_engine_or_action(admin_user: Any, workspace: Any) -> None:
    _tripped(workspace)
    client = _client(admin_user)
    assert client.post("/breakers/reset/", {"source": "agent:zz", "reason": "x"}).status_code == 404
    assert not EngineBreaker.objects.filter(source="agent:zz").exists()
    assert client.post("/breakers/explode/", {"source": ENGINE, "reason": "x"}).status_code == 404
    assert client.get("/breakers/reset/").status_code == 405


def test_it_needs_the_csrf_token(admin_user: Any, workspace: Any) -> None:
    _tripped(workspace)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/breakers/reset/", {"source": ENGINE, "reason": "x"})
    assert response.status_code == 403
    assert EngineBreaker.objects.for_source(ENGINE).state == "OPEN"


def test_it_resumes_the_patches_the_engine_breaker_held_after_a_reset(
    admin_user: Any, agent: Any, workspace: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from healing.breakers.engine_breaker import hold_key
    from healing.breakers.tasks import lift_holds
    from healing.intake.actions import do_submit_patch
    from healing.intake.tasks import process_modification
    from tests.intake_helpers import envelope

    _tripped(workspace)
    mod = do_submit_patch(envelope(), submitted_by=agent, source=ENGINE)
    assert process_modification.run(mod.pk) == "blocked"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _client(admin_user).post(
            "/breakers/reset/", {"source": ENGINE, "reason": "engine fixed upstream"}
        )
    assert response.status_code == 302
    assert callbacks, "the reset sends healing.lift_holds on commit"
    # What the worker runs for that message: the held patch goes back to intake by itself.
    with django_capture_on_commit_callbacks(execute=False):
        assert lift_holds.run(hold_key(ENGINE)) == [mod.pk]
    mod.refresh_from_db()
    assert (mod.status, mod.holds.count()) == ("received", 0)
    assert Modification.objects.get(pk=mod.pk).block_reason == ""
