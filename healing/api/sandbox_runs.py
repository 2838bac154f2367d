"""API: the sandbox runs of a patch (GET /api/v1/patches/{id}/sandbox-runs/)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Modification, SandboxRun
from ..permissions import CanReadPatches
from ..roles import Role, has_role


def sandbox_results(mod: Modification) -> list[dict[str, Any]]:
    """The sandbox runs of a patch, newest first, for GET /api/v1/patches/{id}/."""
    return [run.as_json() for run in SandboxRun.objects.for_modification(mod.pk)]


class PatchSandboxRunsView(APIView):
    permission_classes = [CanReadPatches]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        mod = get_object_or_404(Modification, pk=pk)
        staff = any(has_role(request.user, r) for r in (Role.REVIEWER, Role.OPERATOR, Role.ADMIN))
        if not staff and mod.submitted_by_id != request.user.pk:
            return Response(
                {"error": "not_found", "detail": "Not found."}, status=status.HTTP_404_NOT_FOUND
            )
        return Response({"results": sandbox_results(mod)})
