"""DRF permission classes over the roles in healing.roles."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .roles import Role, has_role


class _RolePermission(BasePermission):
    roles: tuple[Role, ...] = ()
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return any(has_role(request.user, role) for role in self.roles)


def role_required(*roles: Role) -> type[BasePermission]:
    """`permission_classes = [role_required(Role.OPERATOR)]` — any of the roles is enough."""
    names = "/".join(r.value for r in roles)
    return type(
        f"Requires_{'_'.join(r.value for r in roles)}",
        (_RolePermission,),
        {"roles": roles, "message": f"This needs the {names} role."},
    )


IsReviewer = role_required(Role.REVIEWER)
IsOperator = role_required(Role.OPERATOR)
IsAdmin = role_required(Role.ADMIN)
IsAgentOrAdmin = role_required(Role.AGENT, Role.ADMIN)
IsStaffRole = role_required(Role.REVIEWER, Role.OPERATOR, Role.ADMIN)
CanReadPatches = role_required(Role.AGENT, Role.REVIEWER, Role.OPERATOR, Role.ADMIN)
