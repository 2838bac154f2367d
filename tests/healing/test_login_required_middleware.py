from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login_page() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


def test_it_lets_a_logged_in_user_through(reviewer: Any) -> None:
    client = Client()
    client.force_login(reviewer)
    assert client.get("/").status_code == 200


def test_it_leaves_the_api_to_answer_401_itself() -> None:
    assert Client().get("/api/v1/engine/").status_code == 401
