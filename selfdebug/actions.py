"""The named, transactional actions of self-debugging. Views and tasks call these."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from healing.actions.audit import Actor, record_event
from healing.actions.queue import BATCH, requeue_age
from healing.models import Workspace
from healing.queueing import send_later

from .bugs import BugFinding
from .diagnostic_pass import Outcome
from .fixes import ProposedFix
from .logger import DiagnosticLogger
from .models import DetectedBug, DiagnosticRun, FixProposal, KnownPattern, RunStatus
from .proposals import ProposalError, build_envelope, propose_modification

REQUEUE_ACTOR = "system:requeue"


class RunInProgress(Exception):
    def __init__(self, run: DiagnosticRun) -> None:
        super().__init__(f"Diagnostic run #{run.pk} on this workspace is still {run.status}.")
        self.run = run


@transaction.atomic
def do_request_run(
    workspace: Workspace, actor: Actor, *, trigger: str = DiagnosticRun.Trigger.MANUAL
) -> DiagnosticRun:
    """Queue a diagnostic run; one open run per workspace at a time."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    existing = DiagnosticRun.objects.for_workspace(workspace.pk).open().first()
    if existing is not None:
        raise RunInProgress(existing)
    run = DiagnosticRun.objects.create(
        workspace=workspace,
        trigger=trigger,
        requested_by=actor if not isinstance(actor, str) and getattr(actor, "pk", None) else None,
    )
    record_event(
        "diagnostics.requested",
        actor,
        workspace_id=workspace.pk,
        to_state=run.status,
        data={"run_id": run.pk, "trigger": trigger},
    )
    transaction.on_commit(lambda: send_later("healing.run_diagnostics", run.pk))
    return run


def do_request_tests(workspace: Workspace, module: str, actor: Actor) -> None:
    """Queue the ghostwriting of tests for `module` (a proposal follows when they pass)."""
    requested_by_id = getattr(actor, "pk", None) if not isinstance(actor, str) else None
    transaction.on_commit(
        lambda: send_later("healing.generate_tests", workspace.pk, module, requested_by_id)
    )


def claim_run(run_id: int, backend: str) -> DiagnosticRun | None:
    """queued → running, for exactly one worker."""
    claimed = DiagnosticRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), backend=backend
    )
    if claimed != 1:
        return None
    return DiagnosticRun.objects.select_related("workspace").get(pk=run_id)


def _pattern_by_slug(slugs: set[str]) -> dict[str, KnownPattern]:
    return {p.slug: p for p in KnownPattern.objects.filter(slug__in=slugs)}


@transaction.atomic
def do_finish_run(
    run: DiagnosticRun,
    outcome: Outcome,
    logger: DiagnosticLogger,
    *,
    bugs: list[BugFinding],
    base_commit: str,
    auto_propose: bool,
) -> DiagnosticRun:
    report = outcome.report(run.pk, run.started_at)
    totals = outcome.result.totals()
    run.total = totals["total"]
    run.passed = totals["passed"]
    run.failed = totals["failed"] + totals["error"]
    run.skipped = totals["skipped"]
    run.coverage_percent = (outcome.result.coverage or {}).get("percent")
    run.base_commit = base_commit
    run.finished_at = timezone.now()
    run.status = RunStatus.DONE
    DetectedBug.objects.bulk_create(
        [
            DetectedBug(workspace=run.workspace, run=run, base_commit=base_commit, **b.as_dict())
            for b in bugs
        ]
    )
    proposals = []
    patterns = _pattern_by_slug({f.pattern for d in outcome.diagnoses for f in d.fixes})
    for diagnosis in outcome.diagnoses:
        for fix in diagnosis.fixes:
            verification = outcome.verifications.get(fix.diff)
            from_model = fix.template == "model"
            proposal = FixProposal.objects.create(
                workspace=run.workspace,
                run=run,
                origin=FixProposal.Origin.MODEL if from_model else FixProposal.Origin.TEMPLATE,
                source=f"model:{fix.pattern}" if from_model else f"builtin:{fix.pattern}",
                template=fix.template,
                test_id=diagnosis.case.nodeid,
                path=fix.path,
                language=fix.language,
                description=fix.description,
                diff=fix.diff,
                verification=verification,
            )
            proposals.append(proposal)
            verified = verification is None or verification.get("passed")
            if auto_propose and verified:
                pattern = None if from_model else patterns.get(fix.pattern)
                submit_proposal(proposal, "system:diagnostics", pattern=pattern)
    report["bugs"] = {"total": len(bugs), "by_severity": _count(b.severity for b in bugs)}
    report["proposals"] = [
        {
            "id": p.pk,
            "source": p.source,
            "modification_id": p.modification_id,
            "submit_error": p.submit_error,
        }
        for p in proposals
    ]
    run.report = report
    logger.log_state_change(f"run:{run.pk}", "status", RunStatus.RUNNING, RunStatus.DONE)
    run.log = logger.as_json()
    run.save(
        update_fields=[
            "total",
            "passed",
            "failed",
            "skipped",
            "coverage_percent",
            "base_commit",
            "finished_at",
            "status",
            "report",
            "log",
        ]
    )
    record_event(
        "diagnostics.finished",
        "system:diagnostics",
        workspace_id=run.workspace_id,
        from_state=RunStatus.RUNNING,
        to_state=RunStatus.DONE,
        data={
            "run_id": run.pk,
            "total": run.total,
            "failed": run.failed,
            "proposals": len(proposals),
        },
    )
    return run


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


@transaction.atomic
def do_fail_run(run: DiagnosticRun, error: str, logger: DiagnosticLogger | None = None) -> None:
    updated = DiagnosticRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error=error[:4000],
        log=logger.as_json() if logger else {},
    )
    if updated:
        record_event(
            "diagnostics.failed",
            "system:diagnostics",
            workspace_id=run.workspace_id,
            from_state=RunStatus.RUNNING,
            to_state=RunStatus.FAILED,
            reason=error[:500],
            data={"run_id": run.pk},
        )


@transaction.atomic
def submit_proposal(
    proposal: FixProposal,
    actor: Actor,
    *,
    pattern: KnownPattern | None = None,
    error_type: str | None = None,
    severity: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> FixProposal:
    """Turn a proposal into a modification through intake (once). Keeps intake's refusal."""
    if proposal.modification_id:
        return proposal
    envelope = build_envelope(
        proposal.workspace,
        diff=proposal.diff,
        source=proposal.source,
        language=proposal.language,
        error_type=error_type or (pattern.error_type if pattern else "logic"),
        severity=severity or (pattern.severity if pattern else "medium"),
        confidence=pattern.success_rate() if pattern else None,
        metadata={
            "template": proposal.template,
            "test_id": proposal.test_id,
            "description": proposal.description,
            "diagnostic_run": proposal.run_id,
            "bug": proposal.bug_id,
            "verification": proposal.verification,
            **(metadata or {}),
        },
    )
    try:
        with transaction.atomic():
            modification = propose_modification(
                envelope,
                workspace=proposal.workspace,
                submitted_by=actor if getattr(actor, "pk", None) else None,
                source=proposal.source,
            )
    except ProposalError as exc:
        proposal.submit_error = f"{exc} {exc.fields or ''}".strip()
        proposal.save(update_fields=["submit_error"])
        return proposal
    proposal.modification = modification
    proposal.submit_error = ""
    proposal.save(update_fields=["modification", "submit_error"])
    record_event(
        "diagnostics.fix_submitted",
        actor,
        workspace_id=proposal.workspace_id,
        modification_id=modification.pk,
        reason=proposal.description[:500],
        data={"proposal_id": proposal.pk, "source": proposal.source, "template": proposal.template},
    )
    return proposal


@transaction.atomic
def do_record_fix(
    workspace: Workspace,
    fix: ProposedFix,
    *,
    origin: str,
    source: str,
    bug: DetectedBug | None = None,
    verification: dict[str, Any] | None = None,
) -> FixProposal:
    return FixProposal.objects.create(
        workspace=workspace,
        bug=bug,
        origin=origin,
        source=source,
        template=fix.template,
        path=fix.path,
        language=fix.language,
        description=fix.description,
        diff=fix.diff,
        verification=verification,
    )


def do_requeue_stalled_diagnostics() -> list[int]:
    """Send the task of every diagnostic run still queued past `queue.requeue_after_seconds`
    again (claim_run takes a run once, so a duplicate does nothing). Returns the run ids sent."""
    sent: list[int] = []
    stalled = DiagnosticRun.objects.stalled(older_than=requeue_age()).values_list(
        "pk", "workspace_id", "created_at"
    )[:BATCH]
    for pk, workspace_id, created_at in stalled:
        if not send_later("healing.run_diagnostics", pk):
            break
        sent.append(pk)
        waited = (timezone.now() - created_at).total_seconds()
        record_event(
            "diagnostics.requeued",
            REQUEUE_ACTOR,
            workspace_id=workspace_id,
            reason=f"diagnostic run #{pk} queued for {waited:.0f} s with no worker on it; sent again",
            data={"run_id": pk, "waited_s": round(waited, 1)},
            broadcast_it=False,
        )
    return sent
