"""Agents stay in their own lane: what an agent account may write besides its own patches.

An agent writes the telemetry source named after itself (`agent:<name>`, or below it:
`agent:<name>/web-1`) and any an admin granted; it submits patches to the workspaces an admin
granted. A grant is a Django group an admin adds the agent to: `source:<name>` or
`workspace:<name>`. A workspace nobody was granted stays open to every agent (as before grants
existed); the first grant closes it to the others. Staff roles are not limited here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

from .actions.audit import actor_label
from .roles import Role, has_role

SOURCE_GRANT = "source:"
WORKSPACE_GRANT = "workspace:"

User = AbstractBaseUser | AnonymousUser


def _limited(user: User) -> bool:
    """Agents are held to their lane; operators and admins are not."""
    return has_role(user, Role.AGENT) and not has_role(user, Role.OPERATOR)


def _granted(user: User, name: str) -> bool:
    return user.groups.filter(name=name).exists()  # type: ignore[union-attr]


def may_write_source(user: User, source: str) -> bool:
    if not _limited(user):
        return True
    own = actor_label(user)  # type: ignore[arg-type]
    return source == own or source.startswith(own + "/") or _granted(user, SOURCE_GRANT + source)


def may_submit_to(user: User, workspace: str) -> bool:
    if not _limited(user):
        return True
    grant = WORKSPACE_GRANT + workspace
    if _granted(user, grant):
        return True
    return not Group.objects.filter(name=grant, user__isnull=False).exists()
