"""POST/GET /api/v1/patches/, GET /api/v1/patches/{id}/ and …/envelope/, and the envelope schema."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import tunables
from ..actions import actor_label
from ..actors import signed_in
from ..intake import IntakeError, decode_body, schema
from ..intake.actions import do_submit_patch
from ..lanes import submit_refusal
from ..models import Modification
from ..permissions import CanReadPatches, IsAgentOrAdmin
from ..roles import Role, has_role
from .parsers import too_deep
from .sandbox_runs import sandbox_results

JSON_TYPES = ("application/json",)

MINIMAL_ENVELOPE = {
    "schema_version": "2.0",
    "patch_id": "agent-7f3a",
    "workspace": "demo",
    "language": "python",
    "error_classification": {"error_type": "logic", "severity": "medium"},
    "confidence_scoring": {"logits": [2.1, 0.4, 0.2]},
    "patch_data": {
        "diff": "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
    },
}

ErrorJson = inline_serializer(
    "IntakeError",
    {
        "error": serializers.CharField(),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)
AcceptedJson = inline_serializer(
    "PatchAccepted",
    {
        "id": serializers.IntegerField(),
        "patch_id": serializers.CharField(),
        "status": serializers.CharField(),
        "url": serializers.CharField(),
    },
)
FindingsJson = inline_serializer(
    "Finding",
    many=True,
    fields={
        "severity": serializers.CharField(help_text="info, low, medium, high or critical"),
        "message": serializers.CharField(),
        "rule": serializers.CharField(),
        "file": serializers.CharField(),
        "line": serializers.IntegerField(allow_null=True),
        "column": serializers.IntegerField(allow_null=True),
        "blocking": serializers.BooleanField(),
        "stage": serializers.CharField(),
    },
)


class PatchSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_api_url", read_only=True)
    workspace = serializers.CharField(source="workspace.name", read_only=True)
    submitted_by = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    sandbox_runs = serializers.SerializerMethodField()
    # Plain strings: the choice sets are documented in the envelope schema and README.
    claimed_error_type = serializers.CharField(read_only=True)
    inferred_error_type = serializers.CharField(read_only=True)
    error_type = serializers.CharField(read_only=True)
    claimed_severity = serializers.CharField(read_only=True)
    inferred_severity = serializers.CharField(read_only=True)
    severity = serializers.CharField(read_only=True)
    safety_level = serializers.CharField(read_only=True)
    review_digest = serializers.CharField(
        read_only=True, help_text="Send it with an approval to bind the approval to this version."
    )

    class Meta:
        model = Modification
        fields = [
            "id",
            "patch_id",
            "url",
            "status",
            "status_changed_at",
            "created_at",
            "workspace",
            "source",
            "submitted_by",
            "language",
            "files",
            "base_commit",
            "applied_commit",
            "review_digest",
            "claimed_error_type",
            "claimed_severity",
            "inferred_error_type",
            "inferred_severity",
            "error_type",
            "severity",
            "classification_note",
            "safety_level",
            "safety_rule",
            "risk_level",
            "confidence",
            "confidence_detail",
            "validation",
            "findings",
            "preflight",
            "block_reason",
            "blocked_until",
            "parent",
            "cascade_depth",
            "fitness",
            "rollback_count",
            "sandbox_runs",
            "events",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_sandbox_runs(self, mod: Modification) -> list[dict[str, Any]]:
        """The sandbox runs of this patch (patched tree against the baseline), newest first."""
        if not self.context.get("with_events"):
            return []
        return sandbox_results(mod)

    def get_submitted_by(self, mod: Modification) -> str | None:
        return mod.submitted_by.get_username() if mod.submitted_by else None

    @extend_schema_field(FindingsJson)
    def get_findings(self, mod: Modification) -> list[dict[str, Any]]:
        """Every finding of every stage, worst first."""
        order: dict[str | None, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
        found = [
            {"stage": name, **f}
            for name, stage in (mod.validation or {}).items()
            if isinstance(stage, dict)
            for f in stage.get("findings", [])
        ]
        position = {
            name: stage.get("position", 0)
            for name, stage in (mod.validation or {}).items()
            if isinstance(stage, dict)
        }
        return sorted(
            found,
            key=lambda f: (
                not f.get("blocking"),
                order.get(f.get("severity"), 5),
                position.get(f["stage"], 0),
                f.get("line") or 0,
            ),
        )

    def get_events(self, mod: Modification) -> list[dict[str, Any]]:
        if not self.context.get("with_events"):
            return []
        return [
            {
                "at": e.created_at.isoformat(),
                "from": e.from_state,
                "to": e.to_state,
                "by": e.actor_label,
                "reason": e.reason,
            }
            for e in mod.events.filter(kind="modification.transition").order_by("created_at", "id")
        ]


def visible_patches(user: Any) -> Any:
    """Agents see only their own patches; reviewers, operators and admins see all."""
    qs = Modification.objects.select_related("workspace", "submitted_by")
    if has_role(user, Role.REVIEWER):
        return qs
    return qs.filter(submitted_by=user)


class RawJSONParser(BaseParser):
    """Leaves the body alone: the view decodes it itself to give field-level answers."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return None


def _error(exc: IntakeError) -> Response:
    return Response(exc.as_json(), status=exc.status)


class PatchListView(APIView):
    parser_classes = [RawJSONParser]

    def get_permissions(self) -> list[Any]:
        return [IsAgentOrAdmin()] if self.request.method == "POST" else [CanReadPatches()]

    @extend_schema(
        summary="Submit a patch (the transmission envelope 2.0)",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            201: AcceptedJson,
            400: OpenApiResponse(
                ErrorJson,
                description="Malformed JSON, schema violations, unparseable diff, non-UTF-8, NUL bytes.",
            ),
            401: ErrorJson,
            403: ErrorJson,
            409: OpenApiResponse(
                ErrorJson, description="A patch with this patch_id was submitted before."
            ),
            413: OpenApiResponse(ErrorJson, description="Body larger than intake.max_body_bytes."),
            415: OpenApiResponse(ErrorJson, description="Content-Type is not application/json."),
        },
        examples=[
            OpenApiExample("Smallest valid envelope", value=MINIMAL_ENVELOPE, request_only=True)
        ],
        description="The schema is served at /api/v1/schemas/envelope-2.0.json. circuit_breaker_state and "
        "sandbox_execution are the server's and ignored on input. The answer comes at once; validation and "
        "the sandbox run in the background — poll the returned url.",
    )
    def post(self, request: Request) -> Response:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            return _error(
                IntakeError(
                    {"content_type": [f"Send application/json, not {content_type or 'nothing'}."]},
                    status=415,
                    error="unsupported_media_type",
                    detail="Unsupported content type.",
                )
            )
        limit = tunables.get("intake.max_body_bytes")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _too_big(declared, limit)
        body = request.body  # raw bytes: RawJSONParser left them unread
        if len(body) > limit:
            return _too_big(len(body), limit)
        problem = too_deep(body.decode("utf-8", "replace"))
        if problem:
            return _error(IntakeError({"body": [problem]}))
        try:
            envelope = decode_body(body)
            _check_lane(request.user, request.auth, envelope)
            mod = do_submit_patch(
                envelope, submitted_by=signed_in(request), source=actor_label(signed_in(request))
            )
        except IntakeError as exc:
            return _error(exc)
        return Response(
            {
                "id": mod.pk,
                "patch_id": mod.patch_id,
                "status": mod.status,
                "url": mod.get_api_url(),
            },
            status=status.HTTP_201_CREATED,
            headers={"Location": mod.get_api_url()},
        )

    @extend_schema(summary="List patches (agents: their own)", responses=PatchSerializer(many=True))
    def get(self, request: Request) -> Response:
        qs = visible_patches(request.user).order_by("-created_at", "-id")
        wanted = request.query_params.get("status")
        if wanted:
            qs = qs.filter(status__in=wanted.split(","))
        paginator = LimitOffsetPagination()
        page: list[Modification] | None = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PatchSerializer(page, many=True).data)


def _check_lane(user: Any, token: Any, envelope: Any) -> None:
    """An agent submits only to the workspaces its token was granted (healing/lanes.py)."""
    name = envelope.get("workspace") if isinstance(envelope, dict) else None
    refusal = submit_refusal(user, name, token) if isinstance(name, str) else ""
    if refusal:
        raise IntakeError(
            {"workspace": [refusal]},
            status=403,
            error="forbidden",
            detail=f"Not your workspace: {refusal}",
        )


def _too_big(size: int, limit: int) -> Response:
    return _error(
        IntakeError(
            {
                "body": [
                    f"The body is {size} bytes; the limit is {limit} bytes (intake.max_body_bytes)."
                ]
            },
            status=413,
            error="too_large",
            detail="Request body too large.",
        )
    )


class PatchDetailView(APIView):
    permission_classes = [CanReadPatches]

    @extend_schema(
        summary="A patch: its status and everything learnt so far", responses=PatchSerializer
    )
    def get(self, request: Request, pk: int) -> Response:
        mod = get_object_or_404(visible_patches(request.user), pk=pk)
        return Response(PatchSerializer(mod, context={"with_events": True}).data)


class PatchEnvelopeView(APIView):
    permission_classes = [CanReadPatches]

    @extend_schema(
        summary="The full envelope, with the server's sections filled in",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int) -> Response:
        mod = get_object_or_404(visible_patches(request.user), pk=pk)
        return Response(full_envelope(mod))


def _latest_tests(mod: Modification) -> list[dict[str, Any]]:
    from ..models.sandbox import SandboxRun

    run = SandboxRun.objects.for_modification(mod.pk).first()
    return list(run.tests or []) if run is not None else []


def full_envelope(mod: Modification) -> dict[str, Any]:
    """The envelope as received, plus circuit_breaker_state and sandbox_execution from what is known."""
    envelope = dict(mod.envelope or {})
    stages = mod.preflight or {}
    latest = stages.get("apply") or stages.get("intake") or {}  # stored per stage
    checks = latest.get("checks", [])
    envelope["circuit_breaker_state"] = {
        "checked": bool(latest),
        "stage": latest.get("stage"),
        "ok": latest.get("ok"),
        "circuit_state": "open"
        if any(c.get("name") in {"breaker", "engine_breaker"} and not c.get("ok") for c in checks)
        else ("closed" if latest else None),
        "checks": checks,
        "blocked": mod.status == "blocked",
        "block_reason": mod.block_reason,
    }
    envelope["sandbox_execution"] = {
        "environment": "sandbox",
        "isolation_level": mod.workspace.isolation_level,
        "status": mod.status,
        "test_results": _latest_tests(mod),
    }
    envelope["server"] = {
        "id": mod.pk,
        "status": mod.status,
        "safety_level": mod.safety_level,
        "safety_rule": mod.safety_rule,
        "risk_level": mod.risk_level,
        "error_type": mod.error_type,
        "severity": mod.severity,
        "classification_note": mod.classification_note,
        "confidence": mod.confidence,
        "base_commit": mod.base_commit,
        "applied_commit": mod.applied_commit,
    }
    return envelope


class EnvelopeSchemaView(APIView):
    @extend_schema(
        summary="The JSON Schema of the transmission envelope 2.0",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> JsonResponse:
        return JsonResponse(schema(), json_dumps_params={"indent": 2})
