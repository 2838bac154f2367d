"""API: list backups and restore one (GET /api/v1/backups/, POST /api/v1/backups/{id}/restore/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Backup
from ..permissions import IsAdmin
from .errors import apply_errors, conflict


class RestoreBackupSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, trim_whitespace=True, required=False, allow_blank=True, default=""
    )


class BackupListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import LimitOffsetPagination

        backups = Backup.objects.select_related("workspace").order_by("-created_at", "-id")
        workspace = request.query_params.get("workspace")
        if workspace:
            backups = backups.filter(workspace__name=workspace)
        if request.query_params.get("include_pruned") not in {"1", "true"}:
            backups = backups.live()
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(backups, request, view=self)
        return paginator.get_paginated_response([b.as_json() for b in page or []])


class BackupRestoreView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=RestoreBackupSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        from ..apply import do_restore_backup

        backup = get_object_or_404(
            Backup.objects.select_related("workspace", "modification"), pk=pk
        )
        body = RestoreBackupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if backup.pruned_at is not None:
            return conflict("pruned", f"backup {backup.pk} was pruned; its files are gone")

        def run() -> Response:
            commit = do_restore_backup(backup, request.user, body.validated_data["reason"])
            backup.refresh_from_db()
            return Response({"backup": backup.as_json(), "commit": commit})

        return apply_errors(run)
