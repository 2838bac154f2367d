"""REST API of self-debugging: diagnostic runs and their reports, known patterns, detected bugs,
bug fixes, test generation and coverage."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from healing.actors import signed_in
from healing.models import Workspace
from healing.permissions import IsOperator, IsStaffRole

from .actions import (
    RunInProgress,
    do_record_fix,
    do_request_run,
    do_request_tests,
    submit_proposal,
)
from .bugs import BugFinding, propose_bug_fix
from .generators import FixRequest, GeneratorError, configured_generator
from .models import DetectedBug, DiagnosticRun, FixProposal, KnownPattern
from .patterns import PATTERN_FIELDS
from .runners import RunnerError, head_tree


@extend_schema_field(OpenApiTypes.STR)
class WorkspaceField(serializers.Field):
    """A workspace by id or by name."""

    default_error_messages = {
        "unknown": "No active workspace {value!r}.",
        "invalid": "Give a workspace id or name.",
    }

    def to_internal_value(self, data: Any) -> Workspace:
        if (
            isinstance(data, bool)
            or not isinstance(data, int | str)
            or (isinstance(data, str) and (not data.strip() or "\x00" in data))
        ):
            self.fail("invalid")  # PostgreSQL refuses NUL in text: a 400, never a 500
        query = Workspace.objects.active()
        by_id = isinstance(data, int) or str(data).isdigit()
        if by_id and not 0 < int(data) < 2**31:
            self.fail("unknown", value=str(data)[:64])  # beyond any id the database can hold
        found = (
            query.filter(pk=int(data)).first()
            if by_id
            else query.filter(name=str(data)[:64]).first()
        )
        if found is None:
            self.fail("unknown", value=str(data)[:64])
        return found

    def to_representation(self, value: Workspace) -> str:
        return value.name


class RunRequestSerializer(serializers.Serializer):
    workspace = WorkspaceField()


class RunSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.name")
    url = serializers.CharField(source="get_api_url")
    page = serializers.CharField(source="get_absolute_url")
    requested_by = serializers.CharField(source="requested_by.username", default=None)

    class Meta:
        model = DiagnosticRun
        fields = [
            "id",
            "workspace",
            "status",
            "trigger",
            "requested_by",
            "backend",
            "base_commit",
            "created_at",
            "started_at",
            "finished_at",
            "total",
            "passed",
            "failed",
            "skipped",
            "coverage_percent",
            "error",
            "url",
            "page",
        ]


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "report"]


class PatternSerializer(serializers.ModelSerializer):
    success_rate = serializers.FloatField(read_only=True)
    history = serializers.DictField(read_only=True)

    class Meta:
        model = KnownPattern
        fields = [*PATTERN_FIELDS, "enabled", "success_rate", "history"]


class BugSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.name")

    class Meta:
        model = DetectedBug
        fields = [
            "id",
            "workspace",
            "run",
            "tool",
            "code",
            "severity",
            "path",
            "line",
            "message",
            "detail",
            "base_commit",
            "created_at",
        ]


class ProposalSerializer(serializers.ModelSerializer):
    class Meta:
        model = FixProposal
        fields = [
            "id",
            "origin",
            "source",
            "template",
            "test_id",
            "path",
            "language",
            "description",
            "diff",
            "verification",
            "modification",
            "submit_error",
            "created_at",
            "run",
            "bug",
        ]


class RunListCreate(APIView):
    def get_permissions(self) -> list:
        return [IsOperator()] if self.request.method == "POST" else [IsStaffRole()]

    @extend_schema(operation_id="diagnostics_runs_list", responses=RunSerializer(many=True))
    def get(self, request: Request) -> Response:
        runs = DiagnosticRun.objects.select_related("workspace", "requested_by")
        workspace = request.query_params.get("workspace")
        if workspace:
            # No workspace name holds NUL (PostgreSQL refuses it in text): nothing to list.
            runs = (
                runs.filter(workspace__name=workspace[:64])
                if "\x00" not in workspace
                else runs.none()
            )
        return Response({"results": RunSerializer(runs[:100], many=True).data})

    @extend_schema(request=RunRequestSerializer, responses={201: RunSerializer})
    def post(self, request: Request) -> Response:
        data = RunRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        try:
            run = do_request_run(data.validated_data["workspace"], signed_in(request))
        except RunInProgress as exc:
            return Response(
                {"error": "conflict", "detail": str(exc), "run": RunSerializer(exc.run).data},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetail(RetrieveAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = RunDetailSerializer
    queryset = DiagnosticRun.objects.select_related("workspace", "requested_by")


class RunLog(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(DiagnosticRun, pk=pk)
        return Response({"run": run.pk, **(run.log or {"entries": []})})


class PatternList(ListAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = PatternSerializer
    queryset = KnownPattern.objects.all()
    pagination_class = None


class BugList(ListAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = BugSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        bugs = DetectedBug.objects.select_related("workspace")
        params = self.request.query_params
        if params.get("workspace"):
            name = params["workspace"][:64]
            bugs = bugs.filter(workspace__name=name) if "\x00" not in name else bugs.none()
        if params.get("run", "").isdigit():
            bugs = bugs.filter(run_id=int(params["run"]))
        if params.get("severity"):
            bugs = bugs.filter(severity=params["severity"][:16])
        return bugs


class BugFix(APIView):
    """POST /api/v1/bugs/{id}/fix/: propose the template's fix for a detected bug, as a modification."""

    permission_classes = [IsOperator]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        bug = get_object_or_404(DetectedBug.objects.select_related("workspace"), pk=pk)
        finding = BugFinding(
            bug.tool, bug.code, bug.severity, bug.path, bug.line, bug.message, bug.detail
        )
        generator = configured_generator()
        model_error = ""
        try:
            tree = head_tree(bug.workspace)
            fix = propose_bug_fix(tree, finding)
            if fix is None and generator is not None:
                # No template: ask the model (off unless configured), checked the same way.
                ask = FixRequest(tree, bug.path, "python", f"{bug.code}: {bug.message}", "")
                try:
                    fix = generator.generate_fix(ask)
                except GeneratorError as exc:
                    model_error = f" The model's answer was refused: {exc}"
        except RunnerError as exc:
            return Response(
                {"error": "unavailable", "detail": str(exc)}, status=status.HTTP_409_CONFLICT
            )
        if fix is None:
            return Response(
                {
                    "error": "no_fix",
                    "detail": f"No fix template can fix {bug.code} at {bug.path}:{bug.line} at HEAD."
                    + model_error,
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        from_model = fix.template == "model"
        with transaction.atomic():
            proposal = do_record_fix(
                bug.workspace,
                fix,
                origin=FixProposal.Origin.MODEL if from_model else FixProposal.Origin.TEMPLATE,
                source=f"model:{fix.pattern}" if from_model else f"builtin:bug-{bug.code}",
                bug=bug,
            )
            proposal = submit_proposal(
                proposal,
                signed_in(request),
                error_type="security" if bug.tool == "bandit" else "logic",
                severity=bug.severity
                if bug.severity in {"low", "medium", "high", "critical"}
                else "medium",
            )
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)


class TestGenRequestSerializer(serializers.Serializer):
    workspace = WorkspaceField()
    module = serializers.RegexField(r"^[A-Za-z_][\w.]{0,199}$", required=False)


class TestGen(APIView):
    """POST /api/v1/diagnostics/testgen/: ghostwrite tests for a module without tests (in Celery)."""

    permission_classes = [IsOperator]

    @extend_schema(request=TestGenRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = TestGenRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        workspace = data.validated_data["workspace"]
        module = data.validated_data.get("module")
        if not module:
            from selfdebug.testgen import modules_without_tests

            try:
                candidates = modules_without_tests(head_tree(workspace))
            except RunnerError as exc:
                return Response(
                    {"error": "unavailable", "detail": str(exc)}, status=status.HTTP_409_CONFLICT
                )
            if not candidates:
                return Response(
                    {
                        "error": "invalid",
                        "detail": "Every module has tests.",
                        "fields": {"module": ["Give a module."]},
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
            module = candidates[0]
        do_request_tests(workspace, module, signed_in(request))
        return Response(
            {"workspace": workspace.name, "module": module, "queued": True},
            status=status.HTTP_202_ACCEPTED,
        )


class ProposalList(ListAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = ProposalSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        proposals = FixProposal.objects.all()
        if self.request.query_params.get("workspace"):
            proposals = proposals.filter(
                workspace__name=self.request.query_params["workspace"][:64]
            )
        return proposals


class CoverageList(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        from selfdebug.coverage import latest_coverage

        rows = [
            {"workspace": ws.name, "coverage": latest_coverage(ws)}
            for ws in Workspace.objects.active()
        ]
        return Response({"results": rows})
