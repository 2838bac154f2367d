from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healing.actions import do_emergency_stop, do_resume
from healing.actions.cancel import do_cancel
from healing.actors import signed_in
from healing.models import EngineState, Modification
from healing.permissions import IsOperator, IsReviewer, IsStaffRole

from .actions import ApprovalRefused, do_approve, do_reject


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=False, trim_whitespace=True)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


EngineJson = inline_serializer(
    "EngineState",
    {
        "state": serializers.CharField(),
        "changed_at": serializers.DateTimeField(),
        "changed_by": serializers.CharField(allow_null=True),
        "reason": serializers.CharField(),
    },
)


class EngineStateView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=EngineJson)
    def get(self, request: Request) -> Response:
        return Response(EngineState.objects.current().as_json())


class EmergencyStopView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=ReasonSerializer, responses=EngineJson)
    def post(self, request: Request) -> Response:
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = do_emergency_stop(signed_in(request), serializer.validated_data["reason"])
        return Response(state.as_json())


class ResumeView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=OptionalReasonSerializer, responses=EngineJson)
    def post(self, request: Request) -> Response:
        serializer = OptionalReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = do_resume(signed_in(request), serializer.validated_data["reason"])
        return Response(state.as_json())


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, default="", trim_whitespace=True
    )
    round = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The approval round the caller reviewed; refused (409) if the patch was held anew since.",
    )
    digest = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="review_digest of the patch as the caller reviewed it; refused (409) if it changed since.",
    )


DecisionJson = inline_serializer(
    "Decision",
    {
        "id": serializers.IntegerField(),
        "patch_id": serializers.CharField(),
        "status": serializers.CharField(),
        "transitioned": serializers.BooleanField(),
        "approvals": serializers.IntegerField(),
        "needed": serializers.IntegerField(),
        "approvers": serializers.ListField(child=serializers.CharField()),
        "detail": serializers.CharField(),
    },
)

# How a refusal reads over HTTP: the caller's fault (400/403) or the patch moved on (409).
REFUSAL_STATUS = {"forbidden": 403, "own_submission": 403, "comment_required": 400, "not_bulk": 400}


class _DecisionView(APIView):
    permission_classes = [IsReviewer]
    decide: Any = None

    @extend_schema(request=CommentSerializer, responses=DecisionJson)
    def post(self, request: Request, pk: int) -> Response:
        modification = get_object_or_404(Modification, pk=pk)
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            extra = {}
            if type(self).decide is do_approve:
                extra["seen_digest"] = serializer.validated_data.get("digest")
            outcome = type(self).decide(
                modification,
                request.user,
                serializer.validated_data["comment"],
                seen_round=serializer.validated_data.get("round"),
                **extra,
            )
        except ApprovalRefused as exc:
            status = REFUSAL_STATUS.get(exc.code, 409)
            body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
            if exc.code == "comment_required":
                body["fields"] = {"comment": [exc.message]}
            body["status"] = (
                Modification.objects.filter(pk=pk).values_list("status", flat=True).first()
            )
            return Response(body, status=status)
        return Response(outcome.as_json())


class ApproveView(_DecisionView):
    decide = staticmethod(do_approve)


class RejectView(_DecisionView):
    decide = staticmethod(do_reject)


class CancelView(APIView):
    """POST /api/v1/patches/{id}/cancel/ {"reason": ...}: operators and admins, before applying."""

    permission_classes = [IsOperator]

    @extend_schema(request=ReasonSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        modification = get_object_or_404(Modification, pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        do_cancel(modification, signed_in(request), serializer.validated_data["reason"])
        return Response(
            {
                "id": modification.pk,
                "patch_id": modification.patch_id,
                "status": modification.status,
            }
        )
