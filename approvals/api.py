from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healing.actions import do_emergency_stop, do_resume
from healing.models import EngineState
from healing.permissions import IsOperator, IsStaffRole


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
        state = do_emergency_stop(request.user, serializer.validated_data["reason"])
        return Response(state.as_json())


class ResumeView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=OptionalReasonSerializer, responses=EngineJson)
    def post(self, request: Request) -> Response:
        serializer = OptionalReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = do_resume(request.user, serializer.validated_data["reason"])
        return Response(state.as_json())
