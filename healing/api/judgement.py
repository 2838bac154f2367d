"""Breakers, cascades, calibration and learning over the API. Thin: actions do the work."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import tunables
from ..breakers import breakers_json, dual
from ..breakers.actions import do_engine_breaker_action, do_workspace_breaker_action
from ..breakers.summary import engine_json
from ..cascades import chain_json
from ..models import (
    CalibrationFit,
    Cascade,
    EngineBreaker,
    Outcome,
    SuccessRate,
    ThresholdAdaptation,
    Workspace,
    WorkspaceBreaker,
)
from ..models.breaker import GLOBAL_SOURCE
from ..permissions import IsAdmin, IsStaffRole
from ..scoring import ERROR_TYPES, threshold_for


class BreakerActionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=False, trim_whitespace=True)
    error_type = serializers.ChoiceField(choices=dual.ERROR_TYPES, required=False)


class BreakersView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        ids = set(WorkspaceBreaker.objects.values_list("workspace_id", flat=True)) | set(
            Workspace.objects.active().values_list("pk", flat=True)
        )
        engines = breakers_json()
        return Response(
            {
                **engines,
                "engine": engines["global"],  # the single breaker of before: now the global one
                "workspaces": [dual.state_json(pk) for pk in sorted(ids)],
            }
        )


class EngineBreakerActionView(APIView):
    """On the global breaker (breakers/engine/<action>/) or on one engine's
    (breakers/engines/<source>/<action>/)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=BreakerActionSerializer, responses=dict)
    def post(self, request: Request, action: str, source: str = GLOBAL_SOURCE) -> Response:
        if source != GLOBAL_SOURCE:
            get_object_or_404(EngineBreaker, source=source)
        serializer = BreakerActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user  # IsAdmin: an authenticated user
        breaker = do_engine_breaker_action(
            user,  # type: ignore[arg-type]
            action,
            serializer.validated_data["reason"],
            source,
        )
        return Response(engine_json(breaker))


class WorkspaceBreakerView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=dict)
    def get(self, request: Request, workspace_id: int) -> Response:
        workspace = get_object_or_404(Workspace, pk=workspace_id)
        return Response(dual.state_json(workspace.pk))


class WorkspaceBreakerActionView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=BreakerActionSerializer, responses=dict)
    def post(self, request: Request, workspace_id: int, action: str) -> Response:
        workspace = get_object_or_404(Workspace, pk=workspace_id)
        serializer = BreakerActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = do_workspace_breaker_action(
            request.user,  # type: ignore[arg-type]
            workspace.pk,
            action,
            serializer.validated_data["reason"],
            serializer.validated_data.get("error_type"),
        )
        return Response(state)


class CascadeView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=dict)
    def get(self, request: Request, cascade_id: int) -> Response:
        return Response(chain_json(get_object_or_404(Cascade, pk=cascade_id)))


class CalibrationView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        active = CalibrationFit.objects.active(tunables.get("scoring.calibration_method"))
        decider = CalibrationFit.objects.decider()
        outcomes = (
            Outcome.objects.final_per_modification()
            .filter(modification__score__isnull=False)
            .count()
        )
        return Response(
            {
                "method": tunables.get("scoring.calibration_method"),
                "calibrated": active is not None
                and active.method == tunables.get("scoring.calibration_method"),
                "outcomes": outcomes,
                "needed": tunables.get("scoring.calibration_min_outcomes"),
                "active": active.as_json() if active else None,
                # What decides the overall score, with its out-of-fold ECE and Brier score.
                "decides": {
                    "method": decider.method if decider else "formula",
                    "ece": decider.ece_calibrated if decider else None,
                    "brier": decider.brier_calibrated if decider else None,
                    "formula_ece": decider.ece_raw if decider else None,
                    "formula_brier": decider.brier_raw if decider else None,
                    "n_samples": decider.n_samples if decider else 0,
                    "needed": tunables.get("scoring.model_min_outcomes"),
                    "fit": decider.as_json() if decider else None,
                },
                "recent": [fit.as_json() for fit in CalibrationFit.objects.all()[:10]],
            }
        )


class LearningView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        rates = SuccessRate.objects.select_related("workspace").order_by(
            "error_type", "source", "strategy"
        )[:500]
        return Response(
            {
                "success_rates": [
                    {
                        "workspace": r.workspace.name,
                        "error_type": r.error_type,
                        "source": r.source,
                        "strategy": r.strategy,
                        "attempts": r.attempts,
                        "successes": r.successes,
                        "rate": r.rate,
                    }
                    for r in rates
                ],
                "thresholds": {error_type: threshold_for(error_type) for error_type in ERROR_TYPES},
                "adaptations": [
                    {
                        "error_type": a.error_type,
                        "at": a.created_at.isoformat(),
                        "old": a.old_threshold,
                        "new": a.new_threshold,
                        "bounds": [a.lower_bound, a.upper_bound],
                        "n_samples": a.n_samples,
                        "evidence": a.evidence,
                    }
                    for a in ThresholdAdaptation.objects.all()[:50]
                ],
            }
        )
