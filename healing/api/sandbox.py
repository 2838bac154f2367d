"""API of the back half: rollback a patch, list and restore backups, read sandbox runs."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..apply.actions import ApplyRefused
from ..apply.backups import BackupCorrupt
from ..apply.lock import WorkspaceBusy
from ..models import Backup, Modification, SandboxRun
from ..permissions import IsAdmin, IsOperator
from ..roles import Role, has_role
from .patches import CanReadPatches


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, trim_whitespace=True)


class RestoreBackupSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, trim_whitespace=True, required=False, allow_blank=True, default=""
    )


def _conflict(error: str, detail: str, **extra: Any) -> Response:
    return Response({"error": error, "detail": detail, **extra}, status=status.HTTP_409_CONFLICT)


def _apply_errors(fn: Any) -> Response:
    try:
        return fn()
    except BackupCorrupt as exc:
        return _conflict("backup_corrupt", str(exc), mismatches=exc.mismatches)
    except WorkspaceBusy as exc:
        return _conflict("workspace_busy", str(exc))
    except ApplyRefused as exc:
        return _conflict("refused", str(exc))


def sandbox_results(mod: Modification) -> list[dict[str, Any]]:
    """The sandbox runs of a patch, newest first, for GET /api/v1/patches/{id}/."""
    return [run.as_json() for run in SandboxRun.objects.for_modification(mod.pk)]


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

        return _apply_errors(run)


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
            return _conflict("pruned", f"backup {backup.pk} was pruned; its files are gone")

        def run() -> Response:
            commit = do_restore_backup(backup, request.user, body.validated_data["reason"])
            backup.refresh_from_db()
            return Response({"backup": backup.as_json(), "commit": commit})

        return _apply_errors(run)
