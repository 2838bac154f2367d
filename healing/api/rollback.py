"""API: roll back an applied patch (POST /api/v1/patches/{id}/rollback/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Modification
from ..permissions import IsOperator
from .errors import apply_errors


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, trim_whitespace=True)


class PatchRollbackView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=RollbackSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        from ..apply import do_rollback

        mod = get_object_or_404(Modification.objects.select_related("workspace"), pk=pk)
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def run() -> Response:
            do_rollback(mod, request.user, body.validated_data["reason"])
            mod.refresh_from_db()
            return Response(
                {
                    "id": mod.pk,
                    "patch_id": mod.patch_id,
                    "status": mod.status,
                    "rollback_count": mod.rollback_count,
                }
            )

        return apply_errors(run)
