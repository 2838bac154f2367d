"""Who acts: a signed-in user, an agent account (also a user), or a system label."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.http import HttpRequest

if TYPE_CHECKING:
    from rest_framework.request import Request

# A user or agent account, a label such as "system" / "worker:host", or None (this worker).
Actor = User | str | None


def signed_in(request: HttpRequest | Request) -> User:
    """The request's user, for views behind a role check (roles need a signed-in account)."""
    user = request.user
    assert isinstance(user, User), "role-checked views only see signed-in users"
    return user
