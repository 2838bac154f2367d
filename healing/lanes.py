"""Agents stay in their own lane: what an agent account may write besides its own patches.

An agent writes the telemetry source named after itself (`agent:<name>`, or below it:
`agent:<name>/web-1`) and any an admin granted (a Django group `source:<name>`).

It submits patches to the workspaces its API key was granted (ApiToken.workspaces, set with
healing.actions.tokens.do_grant_workspaces). A key with no grant reaches every workspace that no
live key was granted; the first grant reserves a workspace for the keys granted it. Signed in
by session, an agent holds the union of its live keys' grants. Staff roles are not limited."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User

from .actions.audit import actor_label
from .models import ApiToken
from .roles import Role, has_role

SOURCE_GRANT = "source:"

RequestUser = User | AnonymousUser


def _limited(user: RequestUser) -> bool:
    """Agents are held to their lane; operators and admins are not."""
    return has_role(user, Role.AGENT) and not has_role(user, Role.OPERATOR)


def _granted(user: RequestUser, name: str) -> bool:
    return user.groups.filter(name=name).exists()  # type: ignore[union-attr]


def may_write_source(user: RequestUser, source: str) -> bool:
    if not _limited(user):
        return True
    own = actor_label(user)  # type: ignore[arg-type]
    return source == own or source.startswith(own + "/") or _granted(user, SOURCE_GRANT + source)


def workspace_grant(user: RequestUser, token: ApiToken | None) -> list[str] | None:
    """The workspace names this key (or, without one, the user's live keys) was granted;
    None when there is no grant. Empty: a grant whose workspaces were all deleted."""
    names: Iterable[str | None]
    if isinstance(token, ApiToken):
        if not token.scoped:
            return None
        names = token.workspaces.values_list("name", flat=True)
    else:
        live = ApiToken.objects.live().filter(user_id=user.pk, scoped=True)  # type: ignore[misc]
        if not live.exists():
            return None
        names = live.values_list("workspaces__name", flat=True)
    return sorted({n for n in names if n})


def may_submit_to(user: RequestUser, workspace: str, token: ApiToken | None = None) -> bool:
    if not _limited(user):
        return True
    granted = workspace_grant(user, token)
    if granted is not None:
        return workspace in granted
    return not ApiToken.objects.live().filter(workspaces__name=workspace).exists()


def submit_refusal(user: RequestUser, workspace: str, token: ApiToken | None = None) -> str:
    """'' when may_submit_to() allows it, else a message that names the grant."""
    if may_submit_to(user, workspace, token):
        return ""
    granted = workspace_grant(user, token)
    if granted is None:
        return (
            f"Workspace {workspace!r} is reserved for the API tokens granted it; "
            "this token has no workspace grant."
        )
    if not granted:
        return "This token may submit to no workspace: the ones it was granted were removed."
    return f"This token may submit to: {', '.join(granted)}."
