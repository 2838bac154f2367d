"""GET /api/v1/workspaces/ (reviewers, operators, admins) and POST /api/v1/workspaces/ (admin).

Agents submit and read their own patches and nothing else, so they do not list workspaces."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..actions.workspaces import do_register_workspace
from ..models import Forge, IsolationLevel, Landing, Workspace
from ..permissions import IsAdmin, IsStaffRole


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
            "branch",
            "test_command",
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
    branch = serializers.CharField(max_length=255, required=False)
    test_command = serializers.CharField(
        max_length=1024, required=False, default="python -m pytest -q"
    )
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
            request.user,
            name=data.pop("name"),
            path=data.pop("path"),
            branch=data.pop("branch", None),
            **data,
        )
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)
