"""Roles are Django groups (made by a data migration). Higher roles include the lower ones."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User


class Role(StrEnum):
    AGENT = "agent"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    ADMIN = "admin"


# What each role may also do: an operator can review, an admin can operate and review.
# Agents stand apart: they submit and read their own patches, nothing else.
IMPLIED: dict[Role, set[Role]] = {
    Role.AGENT: {Role.AGENT},
    Role.REVIEWER: {Role.REVIEWER},
    Role.OPERATOR: {Role.OPERATOR, Role.REVIEWER},
    Role.ADMIN: {Role.ADMIN, Role.OPERATOR, Role.REVIEWER},
}


def roles_of(user: User | AnonymousUser | None) -> set[Role]:
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_selfheal_roles", None)
    if cached is not None:
        return cached
    roles: set[Role] = set()
    if getattr(user, "is_superuser", False):
        roles |= IMPLIED[Role.ADMIN]
    names = set(user.groups.values_list("name", flat=True))
    for role in Role:
        if role.value in names:
            roles |= IMPLIED[role]
    setattr(user, "_selfheal_roles", roles)  # noqa: B010 -- a per-request cache, not a field
    return roles


def has_role(user: User | AnonymousUser | None, role: Role | str) -> bool:
    return Role(role) in roles_of(user)


def primary_role(user: User | AnonymousUser | None) -> Role | None:
    roles = roles_of(user)
    for role in (Role.ADMIN, Role.OPERATOR, Role.REVIEWER, Role.AGENT):
        if role in roles:
            return role
    return None
