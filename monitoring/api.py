"""Telemetry and healing-loop API under /api/v1/. Thin: validate, call an action or a query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healing import tunables
from healing.actions.audit import actor_label
from healing.actors import signed_in
from healing.api.parsers import DepthLimitedJSONParser
from healing.lanes import may_write_source
from healing.models import EngineState, Modification
from healing.permissions import IsOperator, IsStaffRole, role_required
from healing.roles import Role, has_role

from . import actions, host_health, telemetry
from .models import HealingActionKind, HealingAttempt, HealingLoopState
from .strategies import STRATEGIES
from .validation import SnapshotErrors, clean_snapshots


class LenientJSONParser(DepthLimitedJSONParser):
    """Accepts NaN and Infinity literals so that the validator can name the field that holds
    them (a strict parser would answer a bare 'JSON parse error')."""

    strict = False


class MonitoringReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SnapshotsView(APIView):
    permission_classes = [role_required(Role.AGENT, Role.ADMIN)]
    parser_classes = [LenientJSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        limits = tunables.get_many(["monitoring.basin_dim", "monitoring.max_batch"])
        try:
            cleaned = clean_snapshots(
                request.data,
                dim=limits["monitoring.basin_dim"],
                max_batch=limits["monitoring.max_batch"],
                default_source=actor_label(signed_in(request)),
            )
        except SnapshotErrors as exc:
            raise ValidationError(exc.fields) from None
        _own_lane(request, {item["source"] for item in cleaned})
        stored = actions.do_ingest_snapshots(cleaned)
        return Response({"stored": stored}, status=status.HTTP_201_CREATED)


def _own_lane(request: Request, sources: set[str]) -> None:
    """An agent writes its own telemetry source (or one an admin granted), never another's."""
    foreign = sorted(s for s in sources if not may_write_source(request.user, s))
    if foreign:
        raise PermissionDenied(
            f"An agent writes only its own telemetry source; not {', '.join(foreign[:5])}."
        )


def _sources(request: Request) -> list[str]:
    source = request.query_params.get("source")
    if source:
        return [source]
    from .models import TelemetrySnapshot

    since = timezone.now() - timedelta(days=1)
    return sorted(
        set(
            TelemetrySnapshot.objects.filter(recorded_at__gte=since)
            .values_list("source", flat=True)
            .distinct()
        )
    )


class HealthView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        latest = host_health.latest_snapshot()
        return Response(
            {
                "system": latest.as_json() if latest else None,
                "preflight": host_health.preflight_health().as_json()
                if request.query_params.get("preflight")
                else None,
                "telemetry": [telemetry.health_summary(s) for s in _sources(request)],
            }
        )


class DegradationView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(parameters=[OpenApiParameter("source", str)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        results = [telemetry.degradation(s) for s in _sources(request)]
        issues = [{**issue, "source": r["source"]} for r in results for issue in r["issues"]]
        return Response(
            {
                "degraded": bool(issues),
                "issues": issues,
                "sources": {r["source"]: r["metrics"] for r in results},
            }
        )


class BaselineSerializer(serializers.Serializer):
    # DRF's serializer metaclass pops declared fields off the class, so this does not shadow
    # Field.source at run time; the stubs cannot see that.
    source = serializers.CharField(max_length=128)  # type: ignore[assignment]
    basin_coords = serializers.ListField(
        child=serializers.FloatField(), required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BaselineView(APIView):
    permission_classes = [role_required(Role.AGENT, Role.OPERATOR)]
    parser_classes = [LenientJSONParser]

    @extend_schema(request=BaselineSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        serializer = BaselineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _own_lane(request, {data["source"]})
        baseline = actions.do_set_baseline(
            signed_in(request),
            source=data["source"],
            basin_coords=data.get("basin_coords"),
            reason=data["reason"],
        )
        return Response(baseline.as_json(), status=status.HTTP_201_CREATED)


def loop_status() -> dict[str, Any]:
    auto = tunables.get_many([f"loop.auto.{name}" for name in STRATEGIES])
    return {
        "loop": HealingLoopState.objects.current().as_json(),
        "interval_seconds": tunables.get("loop.interval_seconds"),
        "engine": EngineState.objects.current().as_json(),
        "strategies": [
            {"name": s.name, "title": s.title, "acts_alone": auto[f"loop.auto.{s.name}"]}
            for s in STRATEGIES.values()
        ],
        "proposed": HealingAttempt.objects.proposed().count(),
    }


class StatusView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(loop_status())


def _when(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None or timezone.is_naive(value):
        raise ValidationError({name: ["must be an ISO 8601 date and time with a time zone."]})
    return value


class HistoryView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(
        parameters=[OpenApiParameter(n, str) for n in ("source", "since", "until", "points")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        until = _when(request, "until") or timezone.now()
        since = _when(request, "since") or until - timedelta(hours=24)
        if since >= until:
            raise ValidationError({"since": ["must be before until."]})
        points = request.query_params.get("points")
        max_points = None
        if points is not None:
            if not points.isdigit() or not 10 <= int(points) <= 20000:
                raise ValidationError({"points": ["must be an integer between 10 and 20000."]})
            max_points = int(points)
        source = request.query_params.get("source") or telemetry.default_source()
        body: dict[str, Any] = (
            telemetry.history(source, since, until, max_points)
            if source
            else {"source": None, "points": 0}
        )
        body["attempts"] = [a.as_json() for a in HealingAttempt.objects.recent(100)]
        return Response(body)


class LoopStartView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=MonitoringReasonSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        serializer = MonitoringReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.do_start_loop(signed_in(request), serializer.validated_data["reason"])
        return Response(loop_status())


class LoopStopView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=MonitoringReasonSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        serializer = MonitoringReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.do_stop_loop(signed_in(request), serializer.validated_data["reason"])
        return Response(loop_status())


class LoopIntervalSerializer(MonitoringReasonSerializer):
    interval_seconds = serializers.IntegerField()


class LoopIntervalView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=LoopIntervalSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        serializer = LoopIntervalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            actions.do_set_loop_interval(
                signed_in(request), data["interval_seconds"], data["reason"]
            )
        except DjangoValidationError as exc:
            raise ValidationError({"interval_seconds": exc.messages}) from None
        return Response(loop_status())


class AttemptListView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"attempts": [a.as_json() for a in HealingAttempt.objects.recent(200)]})


def _may_decide(user: Any, attempt: HealingAttempt) -> bool:
    """A rollback is reviewed like a patch (reviewer); engine commands need an operator."""
    needed = Role.REVIEWER if attempt.action == HealingActionKind.ROLLBACK else Role.OPERATOR
    return has_role(user, needed)


class AttemptApproveView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        attempt = get_object_or_404(HealingAttempt.objects.select_related("modification"), pk=pk)
        if not _may_decide(request.user, attempt):
            raise PermissionDenied("Approving this action needs the operator role.")
        actions.do_execute_attempt(attempt, signed_in(request))
        return Response(attempt.as_json())


class AttemptRejectView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(request=MonitoringReasonSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        attempt = get_object_or_404(HealingAttempt, pk=pk)
        if not _may_decide(request.user, attempt):
            raise PermissionDenied("Rejecting this action needs the operator role.")
        serializer = MonitoringReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.do_reject_attempt(attempt, signed_in(request), serializer.validated_data["reason"])
        return Response(attempt.as_json())


class FitnessSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=["sandbox", "post_apply"], default="post_apply")


class FitnessView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        mod = get_object_or_404(Modification, pk=pk)
        return Response(mod.fitness or {})

    @extend_schema(request=FitnessSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        mod = get_object_or_404(Modification, pk=pk)
        serializer = FitnessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            actions.do_compute_fitness(mod, serializer.validated_data["phase"], signed_in(request))
        )
