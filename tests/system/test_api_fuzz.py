"""Schemathesis against our own OpenAPI schema (drf-spectacular), with an authenticated admin
and an authenticated agent: no generated request may get a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests import factories


def _schema() -> Any:
    spec = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.app = get_wsgi_application()
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(settings: Any) -> Any:
    # Once per test, not per example: each assignment through pytest-django's `settings` nests
    # another override, and hundreds of examples would nest them past the recursion limit.
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    # Like Django's test client: a request must not close the test's database connection.
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield _schema()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(db: Any, tmp_path: Any) -> dict[str, dict[str, str]]:
    factories.make_workspace(factories.make_git_repo(tmp_path / "repo"), name="demo")
    admin = factories.make_user("fuzz-admin", role="admin")
    agent = factories.make_user("fuzz-agent", role="agent")
    return {
        "admin": {"Authorization": f"Token {factories.token_for(admin)}"},
        "agent": {"Authorization": f"Token {factories.token_for(agent)}"},
    }


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_it_never_answers_5xx(case: Any, fuzz_headers: dict[str, dict[str, str]]) -> None:
    for headers in fuzz_headers.values():
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:500]}"
        )
