"""GET /api/v1/workspaces/ (reviewers, operators, admins) and POST /api/v1/workspaces/ (admin).

Agents submit and read their own patches and nothing else, so they do not list workspaces."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..actions.environments import do_rebuild_environment
from ..actions.workspaces import do_register_workspace
from ..actors import signed_in
from ..models import EnvironmentBuild, Forge, IsolationLevel, Landing, Workspace
from ..models.workspace import validate_interpreter
from ..permissions import IsAdmin, IsStaffRole, role_required
from ..roles import Role

IsOperatorOrAdmin = role_required(Role.OPERATOR, Role.ADMIN)


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = [
            "id",
            "name",
            "path",
            "remote_url",
            "landing",
            "credentials_env",
            "forge",
            "forge_api",
            "forge_repo",
            "webhook_secret_env",
            "branch",
            "test_command",
            "setup_command",
            "setup_inputs",
            "interpreter",
            "languages",
            "allowed_paths",
            "protected_paths",
            "import_allowlist",
            "import_denylist",
            "policy_overrides",
            "isolation_level",
            "allow_binary",
            "is_self",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "is_active", "created_at"]


def _string_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=1024), required=False, max_length=500
    )


class WorkspaceCreateSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=64)
    path = serializers.CharField(max_length=1024, required=False, default="")
    # A remote instead of a path; credentials by reference (healing/remote/credentials.py).
    remote_url = serializers.CharField(max_length=1024, required=False, default="")
    landing = serializers.ChoiceField([c.value for c in Landing], required=False)
    credentials_env = serializers.CharField(max_length=1024, required=False)
    forge = serializers.ChoiceField([c.value for c in Forge], required=False)
    forge_api = serializers.URLField(max_length=1024, required=False)
    forge_repo = serializers.CharField(max_length=255, required=False)
    webhook_secret_env = serializers.CharField(max_length=1024, required=False)
    branch = serializers.CharField(max_length=255, required=False)
    test_command = serializers.CharField(
        max_length=1024, required=False, default="python -m pytest -q"
    )
    setup_command = serializers.CharField(
        max_length=1024, required=False, allow_blank=True, default=""
    )
    setup_inputs = _string_list()
    interpreter = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    languages = serializers.ListField(
        child=serializers.ChoiceField(["python", "javascript", "typescript", "php"]),
        required=False,
        default=["python"],
    )
    allowed_paths = _string_list()
    protected_paths = _string_list()
    import_allowlist = _string_list()
    import_denylist = _string_list()
    policy_overrides = serializers.DictField(required=False)
    isolation_level = serializers.ChoiceField([c.value for c in IsolationLevel], required=False)
    allow_binary = serializers.BooleanField(required=False)
    is_self = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("path")) == bool(attrs.get("remote_url")):
            raise serializers.ValidationError("Give exactly one of path and remote_url.")
        return attrs

    def validate_name(self, value: str) -> str:
        if Workspace.objects.filter(name=value).exists():
            raise serializers.ValidationError(f"A workspace named {value!r} exists already.")
        return value

    def validate_interpreter(self, value: str) -> str:
        try:
            validate_interpreter(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate_policy_overrides(self, value: dict[str, Any]) -> dict[str, Any]:
        from .. import tunables

        cleaned = {}
        for key, raw in value.items():
            try:
                cleaned[key] = tunables.get_tunable(key).clean(raw)
            except KeyError:
                raise serializers.ValidationError(f"{key!r} is not a tunable.") from None
            except ValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        return cleaned


class WorkspaceListView(APIView):
    def get_permissions(self) -> list[Any]:
        return [IsAdmin()] if self.request.method == "POST" else [IsStaffRole()]

    @extend_schema(summary="Workspaces the engine guards", responses=WorkspaceSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(Workspace.objects.active(), many=True).data)

    @extend_schema(
        summary="Register a workspace (admin)",
        request=WorkspaceCreateSerializer,
        responses={201: WorkspaceSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = WorkspaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        workspace = do_register_workspace(
            signed_in(request),
            name=data.pop("name"),
            path=data.pop("path"),
            branch=data.pop("branch", None),
            **data,
        )
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)


class EnvironmentBuildSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnvironmentBuild
        fields = [
            "id",
            "key",
            "status",
            "commit",
            "setup_command",
            "interpreter",
            "inputs",
            "path",
            "duration_ms",
            "size_bytes",
            "log_tail",
            "packages",
            "tools_added",
            "created_at",
            "started_at",
            "finished_at",
            "last_used_at",
        ]


class WorkspaceEnvironmentsView(APIView):
    def get_permissions(self) -> list[Any]:
        return [IsOperatorOrAdmin()] if self.request.method == "POST" else [IsStaffRole()]

    @extend_schema(
        summary="Build the environment of the workspace's HEAD if it is missing or failed",
        request=None,
        responses={202: EnvironmentBuildSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        workspace = get_object_or_404(Workspace, pk=pk)
        build = do_rebuild_environment(request.user, workspace)
        if build is None:
            return Response(
                {"detail": f"{workspace.name} has no setup command: it has no environment."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(EnvironmentBuildSerializer(build).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="A workspace's environment builds, newest first",
        responses=EnvironmentBuildSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        workspace = get_object_or_404(Workspace, pk=pk)
        builds = EnvironmentBuild.objects.for_workspace(workspace.pk)[:100]
        return Response(EnvironmentBuildSerializer(builds, many=True).data)
