"""Running one claimed diagnostic run end to end (called by the Celery task)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from healing import tunables
from healing.models import Workspace
from healing.sandbox import IsolationUnavailable

from .actions import RunInProgress, claim_run, do_fail_run, do_finish_run, do_request_run
from .bugs import scan_tree
from .diagnostic_pass import Options, diagnose_workspace
from .generators import GeneratorError, configured_generator
from .logger import DiagnosticLogger
from .models import DiagnosticRun, KnownPattern
from .patterns import PATTERN_FIELDS, PatternSpec
from .runners import RunnerError, SandboxRunner, head_tree

log = logging.getLogger(__name__)


def pattern_specs() -> list[PatternSpec]:
    rows = KnownPattern.objects.enabled().values(*PATTERN_FIELDS)
    return [PatternSpec(**row) for row in rows]


def execute(run_id: int) -> DiagnosticRun | None:
    run = DiagnosticRun.objects.select_related("workspace").filter(pk=run_id).first()
    if run is None:
        return None
    settings = tunables.get_group("diagnostics.", run.workspace)
    run = claim_run(run_id, SandboxRunner.name)
    if run is None:
        return None  # another worker has it, or it is not queued any more
    logger = DiagnosticLogger(f"run-{run.pk}")
    workspace = run.workspace
    try:
        with logger.context(
            "diagnostic_run", run=run.pk, workspace=workspace.name, settings=settings
        ):
            runner = SandboxRunner(timeout=settings["diagnostics.test_timeout_seconds"])
            base_commit = workspace.head_commit()
            options = Options(
                isolation_budget=settings["diagnostics.isolation_budget"],
                isolate=settings["diagnostics.isolation_budget"] > 0,
                verify_fixes=settings["diagnostics.verify_fixes"],
                coverage=settings["diagnostics.coverage"],
                max_failures=settings["diagnostics.max_failures"],
                search_budget=settings["diagnostics.search_budget"],
            )
            outcome = diagnose_workspace(
                workspace,
                runner,
                pattern_specs(),
                logger,
                options,
                generator=configured_generator(),
            )
            bugs = []
            if settings["diagnostics.static_analysis"]:
                with logger.context("static_analysis") as ctx:
                    bugs = scan_tree(head_tree(workspace))
                    ctx["result"] = {"bugs": len(bugs)}
    except IsolationUnavailable as exc:
        # Blocked, never run with less isolation than the workspace requires.
        log.warning("diagnostic run %s blocked: %s", run.pk, exc)
        do_fail_run(run, f"blocked: {exc}", logger)
        return DiagnosticRun.objects.get(pk=run.pk)
    except (RunnerError, GeneratorError, OSError, ValueError) as exc:
        log.warning("diagnostic run %s failed: %s", run.pk, exc)
        do_fail_run(run, str(exc), logger)
        return DiagnosticRun.objects.get(pk=run.pk)
    except Exception as exc:
        do_fail_run(run, f"{type(exc).__name__}: {exc}", logger)
        raise
    return do_finish_run(
        run,
        outcome,
        logger,
        bugs=bugs,
        base_commit=base_commit,
        auto_propose=settings["diagnostics.auto_propose"],
    )


def schedule_due() -> list[int]:
    """Queue a scheduled run for every active workspace whose interval has passed."""
    queued = []
    now = timezone.now()
    for workspace in Workspace.objects.active():
        interval = tunables.get("diagnostics.schedule_interval_minutes", workspace)
        if interval <= 0:
            continue
        last = DiagnosticRun.objects.for_workspace(workspace.pk).order_by("-created_at").first()
        if last is not None and last.created_at > now - timedelta(minutes=interval):
            continue
        try:
            run = do_request_run(
                workspace, "schedule:diagnostics", trigger=DiagnosticRun.Trigger.SCHEDULE
            )
        except RunInProgress:
            continue
        queued.append(run.pk)
    return queued
