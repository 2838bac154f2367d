from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import EngineState
from .roles import Role, roles_of


def console(request: HttpRequest) -> dict[str, Any]:
    """What every page needs: the engine state for the emergency banner and the viewer's roles."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    roles = roles_of(request.user)
    return {
        "engine_state": EngineState.objects.current(),
        "user_roles": sorted(r.value for r in roles),
        "is_reviewer": Role.REVIEWER in roles,
        "is_operator": Role.OPERATOR in roles,
        "is_admin_role": Role.ADMIN in roles,
    }
