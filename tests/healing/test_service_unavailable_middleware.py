"""ServiceUnavailableMiddleware: a database that is down gives 503 and a clear message, not 500.

The database really is unreachable here: the connection is pointed at a file in a directory that
does not exist (SQLite) or at a port nothing listens on (PostgreSQL)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.urls import reverse

from healing.middleware import server_error
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
DETAIL = "The database is unreachable; try again shortly."


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def database_down() -> Iterator[None]:
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-selfheal-dir/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_dead_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_it_answers_the_api_with_503_json(agent: Any, workspace: Any) -> None:
    token = factories.token_for(agent)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with database_down():
        listing = client.get("/api/v1/patches/")
        submitted = client.post(
            "/api/v1/patches/", {"patch_id": "x"}, content_type="application/json"
        )
    for response in (listing, submitted):
        assert response.status_code == 503, response.content
        assert response.json() == {"error": "service_unavailable", "detail": DETAIL}
        assert response["Retry-After"]


def test_it_answers_a_logged_in_page_with_the_static_503_page(reviewer: Any) -> None:
    client = Client()
    client.force_login(reviewer)  # the session lives in the database that is about to go
    with database_down():
        response = client.get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Service unavailable" in text and DETAIL in text
    assert client.get(reverse("dashboard")).status_code == 200  # and back once it answers


def test_it_still_sends_an_anonymous_visitor_to_the_login_page() -> None:
    with database_down():
        response = Client().get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_answers_the_login_form_with_503(reviewer: Any) -> None:
    with database_down():
        response = Client().post(
            "/login/", {"username": reviewer.username, "password": "pw-for-tests-1"}
        )
    assert response.status_code == 503
    assert DETAIL in response.content.decode()


def test_it_keeps_healthz_json_naming_the_database(reviewer: Any) -> None:
    client = Client()
    client.force_login(reviewer)  # the console's banner polls /healthz with a session cookie
    with database_down():
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503, body
    assert "database" in body["down"]
    assert body["components"]["database"]["ok"] is False
    assert body["components"]["sandbox"]["ok"] is True  # the sandbox itself is not down
    assert "engine" not in body


def test_it_turns_a_database_error_outside_any_view_into_503() -> None:
    # handler500 sees what escaped the middleware (a session saved on the way out, say).
    request = RequestFactory().get("/api/v1/patches/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    try:
        raise ValueError("our bug")
    except ValueError:
        assert server_error(RequestFactory().get("/")).status_code == 500
