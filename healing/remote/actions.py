"""Named actions for remote workspaces: apply, rollback, settle a pull request, poll, recover.

The commit is built in this worker's mirror (a private index, as for a local apply) and pushed
with a lease; a RemoteLanding row is committed before each push so that a crash is judged by
asking the remote where its ref is."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .. import breakers
from ..actions import record_event, transition
from ..actions.audit import Actor
from ..actions.unblock import REMOTE_DOWN, do_block, remote_unreachable
from ..apply import gitops
from ..apply.lock import workspace_lock
from ..models import Modification, ModificationStatus, RemoteLanding, RemoteLandingState
from ..models.modification import InvalidTransition
from . import forges, mirror, summary
from .credentials import CredentialsMissing
from .modes import MODES
from .push import RemoteMoved, remote_ref

log = logging.getLogger(__name__)
S = ModificationStatus
L = RemoteLandingState
REMOTE_ERRORS = (mirror.RemoteError, CredentialsMissing, forges.ForgeError, gitops.GitError)


def _back_to_validation(
    mod: Modification, actor: Actor, reason: str, expected: str
) -> Modification:
    from ..queueing import send_later

    with transaction.atomic():
        transition(mod, S.VALIDATING, actor, reason, expected_from=expected)
        handed_over_at = mod.status_changed_at.isoformat()
        # The transition time lets exactly one delivery take the patch (it is in validating).
        transaction.on_commit(
            lambda: send_later("healing.process_modification", mod.pk, handed_over_at)
        )
    return mod


def _fail(mod: Modification, actor: Actor, exc: Exception, landing: RemoteLanding | None) -> None:
    message = str(exc)[:2000]
    if landing is not None:
        landing.state, landing.error, landing.updated_at = L.FAILED, message, timezone.now()
        landing.save(update_fields=["state", "error", "updated_at"])
    record_event(
        "remote.error",
        actor,
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        reason=message,
        data={"error": message, "landing_id": landing.pk if landing else None},
    )


def _post_verdict(mod: Modification, commit: str, state: str, verdict: str) -> None:
    """Selfheal's verdict as a commit status (GitHub, Gitea) or pipeline status (GitLab) on the
    pushed commit, each time it changes. The forge's word is advisory: a refusal is recorded on
    the patch and changes nothing."""
    workspace = mod.workspace
    if workspace.forge == "none" or not commit:
        return
    try:
        forges.adapter_for(workspace).set_status(
            commit, state, f"Selfheal: {verdict}", summary.review_url(mod)
        )
    except REMOTE_ERRORS as exc:
        record_event(
            "remote.status_error",
            "system",
            workspace_id=mod.workspace_id,
            modification_id=mod.pk,
            reason=f"the forge refused the status {state!r}: {exc}"[:1000],
            data={"commit": commit, "state": state},
        )


def do_apply_remote(mod: Modification, actor: Actor = None) -> Modification:
    """approved → applying → applied (push, branch) | applying with an open pull request |
    validating (the remote moved) | failed. The pre-flight has run (do_apply)."""
    from ..apply.commits import author, message

    workspace = mod.workspace
    mode = MODES[workspace.landing]
    with workspace_lock(workspace):
        head, fetch_error = "", None
        try:
            head = mirror.refresh(workspace)
        except REMOTE_ERRORS as exc:
            if isinstance(exc, mirror.RemoteError) and not exc.is_permanent:
                # Down, not refusing: held, and applied once the remote answers again.
                return do_block(
                    mod,
                    actor,
                    f"{REMOTE_DOWN}: {exc}"[:1000],
                    [remote_unreachable(mod)],
                    expected_from=S.APPROVED,
                    data={"error": str(exc)[:2000]},
                )
            fetch_error = exc
        transition(
            mod,
            S.APPLYING,
            actor,
            f"applying ({mode.name} to the remote)",
            expected_from=S.APPROVED,
        )
        landing = None
        try:
            if fetch_error is not None:
                raise fetch_error
            if not mod.base_commit or head != mod.base_commit:
                return _back_to_validation(
                    mod,
                    actor,
                    f"stale: {workspace.branch} on the remote is {head[:10]}, the patch was checked against {mod.base_commit[:10] or 'nothing'}",
                    S.APPLYING,
                )
            repo = mirror.mirror_path(workspace)
            new = gitops.commit_from_diff(repo, head, mod.diff, message(mod), author(mod))
            landing = RemoteLanding.objects.create(
                workspace=workspace,
                modification=mod,
                mode=mode.name,
                target_ref=mode.target_ref(workspace, mod, "apply"),
                base_ref=gitops.branch_ref(workspace.branch),
                base_commit=head,
                new_commit=new,
            )
            mode.push(workspace, landing)
        except RemoteMoved as exc:
            if landing is not None:
                landing.state, landing.error = L.REJECTED, str(exc)[:2000]
                landing.save(update_fields=["state", "error"])
            return _back_to_validation(mod, actor, f"stale: {exc}"[:500], S.APPLYING)
        except REMOTE_ERRORS as exc:
            _fail(mod, actor, exc, landing)
            transition(
                mod, S.FAILED, actor, f"apply failed: {exc}"[:1000], data={"error": str(exc)[:2000]}
            )
            breakers.record_outcome(mod, success=False, stage="apply")
            return mod
        return _after_push(mod, actor, landing)


def _after_push(mod: Modification, actor: Actor, landing: RemoteLanding) -> Modification:
    mode = MODES[landing.mode]
    landing.state = L.PUSHED if mode.finishes_on_push else L.OPEN
    landing.updated_at = timezone.now()
    landing.save(update_fields=["state", "updated_at"])
    try:
        mode.after_push(mod.workspace, mod, landing)
    except REMOTE_ERRORS as exc:
        # The branch is on the remote but the forge refused: shown plainly, nothing claimed.
        _fail(mod, actor, exc, landing)
        transition(
            mod, S.FAILED, actor, f"forge error: {exc}"[:1000], data={"error": str(exc)[:2000]}
        )
        breakers.record_outcome(mod, success=False, stage="apply")
        _post_verdict(mod, landing.new_commit, "error", "failed: the forge refused the request")
        return mod
    ref = landing.target_ref.removeprefix("refs/heads/")
    if not mode.finishes_on_push:
        record_event(
            "remote.pull_request_opened",
            actor,
            workspace_id=mod.workspace_id,
            modification_id=mod.pk,
            reason=f"pull request {landing.pr_number} opened from {ref}",
            data={"landing_id": landing.pk, "url": landing.pr_url, "commit": landing.new_commit},
        )
        return mod
    transition(
        mod,
        S.APPLIED,
        actor,
        f"pushed {landing.new_commit[:10]} to {ref} (parent {landing.base_commit[:10]})",
        applied_commit=landing.new_commit,
        data={"landing_id": landing.pk, "ref": landing.target_ref, "parent": landing.base_commit},
    )
    breakers.note_application(mod)
    breakers.record_outcome(mod, success=True, stage="apply")
    _post_verdict(mod, landing.new_commit, "success", f"applied, pushed to {ref}")
    return mod


def do_settle_pull_request(
    landing: RemoteLanding, state: str, actor: Actor, merge_commit: str = ""
) -> bool:
    """The forge says the request is merged or closed: applied / rejected (or, for a revert
    request, rolled back). Returns True when something changed. Idempotent.

    A merged patch is then verified as a direct apply is: the tests on what the base branch got
    (`merge_commit`, the forge's merge or squash commit; the request's head when it does not
    say), then production's health for a window; bad either way opens a revert request."""
    from ..queueing import send_later

    if state not in ("merged", "closed"):
        return False
    with transaction.atomic():
        claimed = RemoteLanding.objects.filter(pk=landing.pk, state=L.OPEN).update(
            state=L.MERGED if state == "merged" else L.CLOSED, updated_at=timezone.now()
        )
        if claimed != 1:
            return False
        mod = landing.modification
        mod.refresh_from_db()
        where = f"pull request {landing.pr_number}"
        if landing.operation == "rollback":
            if state == "merged" and mod.status == S.APPLIED:
                verdict = ("failure", f"rolled back: revert {where} merged", mod.applied_commit)
                transition(
                    mod,
                    S.ROLLED_BACK,
                    actor,
                    f"revert {where} merged",
                    rollback_count=mod.rollback_count + 1,
                    data={
                        "method": "revert",
                        "commit": landing.new_commit,
                        "landing_id": landing.pk,
                    },
                )
            else:
                record_event(
                    "remote.revert_closed",
                    actor,
                    workspace_id=mod.workspace_id,
                    modification_id=mod.pk,
                    reason=f"revert {where} closed unmerged",
                )
                return True
        elif mod.status != S.APPLYING:
            return True
        elif state == "merged":
            verdict = ("success", f"applied: {where} merged", landing.new_commit)
            merged = merge_commit or landing.new_commit
            # applied_commit stays the request's head: what was reviewed, and what a revert undoes.
            transition(
                mod,
                S.APPLIED,
                actor,
                f"{where} merged",
                applied_commit=landing.new_commit,
                data={"landing_id": landing.pk, "url": landing.pr_url, "merged_commit": merged},
            )
            transaction.on_commit(lambda: send_later("healing.verify_application", mod.pk, merged))
        else:
            verdict = ("failure", f"rejected: {where} closed unmerged", landing.new_commit)
            transition(
                mod,
                S.REJECTED,
                actor,
                f"{where} closed unmerged on the forge",
                data={"landing_id": landing.pk, "url": landing.pr_url},
            )
    if state == "merged" and landing.operation == "apply":
        breakers.note_application(mod)
        breakers.record_outcome(mod, success=True, stage="apply")
    status, text, commit = verdict
    _post_verdict(mod, commit, status, text)
    return True


def do_poll_pull_requests() -> int:
    """The fallback when no webhook arrives: ask the forge about every open request."""
    settled = 0
    for landing in RemoteLanding.objects.filter(state=L.OPEN).select_related(
        "workspace", "modification"
    ):
        try:
            pr = forges.adapter_for(landing.workspace).get_pull_request(landing.pr_number)
        except REMOTE_ERRORS as exc:
            log.warning("polling pull request %s failed: %s", landing.pr_number, exc)
            continue
        settled += do_settle_pull_request(landing, pr.state, "system", pr.merge_commit)
    return settled


def do_rollback_remote(mod: Modification, actor: Actor, reason: str) -> Modification:
    """A revert commit pushed the way the patch landed: to the branch with a lease (push), a
    revert pull request (pull_request), or deleting the patch's branch (branch)."""
    from ..apply.commits import ApplyRefused, rollback_commit

    workspace = mod.workspace
    last = (
        mod.remote_landings.filter(operation="apply")
        .exclude(state__in=[L.FAILED, L.REJECTED])
        .first()
    )
    mode_name = last.mode if last is not None else workspace.landing
    mode = MODES[mode_name]
    with workspace_lock(workspace):
        if mode_name == "branch":
            return _delete_branch(mod, actor, reason, last)
        head = mirror.refresh(workspace)
        message = f"Revert patch {mod.patch_id}: {reason[:60]}\n\nSelfheal-Rollback: {mod.pk}\n"
        new, method = rollback_commit(mod, mirror.mirror_path(workspace), head, message, actor)
        landing = RemoteLanding.objects.create(
            workspace=workspace,
            modification=mod,
            operation="rollback",
            mode=mode_name,
            target_ref=mode.target_ref(workspace, mod, "rollback"),
            base_ref=gitops.branch_ref(workspace.branch),
            base_commit=head,
            new_commit=new,
        )
        try:
            mode.push(workspace, landing)
        except RemoteMoved as exc:
            landing.state, landing.error = L.REJECTED, str(exc)[:2000]
            landing.save(update_fields=["state", "error"])
            raise ApplyRefused(f"the remote moved during the rollback; try again ({exc})") from None
        except REMOTE_ERRORS as exc:
            _fail(mod, actor, exc, landing)
            raise
        if not mode.finishes_on_push:
            landing.state = L.OPEN
            landing.save(update_fields=["state"])
            try:
                mode.after_push(workspace, mod, landing)
            except REMOTE_ERRORS as exc:
                _fail(mod, actor, exc, landing)
                raise
            record_event(
                "remote.revert_opened",
                actor,
                workspace_id=mod.workspace_id,
                modification_id=mod.pk,
                reason=f"revert pull request {landing.pr_number}: {reason}",
                data={"landing_id": landing.pk, "url": landing.pr_url},
            )
            return mod
        landing.state = L.PUSHED
        landing.save(update_fields=["state"])
        transition(
            mod,
            S.ROLLED_BACK,
            actor,
            reason,
            rollback_count=mod.rollback_count + 1,
            data={"method": method, "commit": new, "landing_id": landing.pk},
        )
    breakers.record_outcome(mod, success=True, stage="rollback")
    _post_verdict(mod, mod.applied_commit, "failure", f"rolled back by {new[:10]}: {reason}")
    return mod


def _delete_branch(
    mod: Modification, actor: Actor, reason: str, last: RemoteLanding | None
) -> Modification:
    """Branch mode never touched the base branch: taking the patch back deletes its branch
    (with a lease: only if it still holds our commit)."""
    from .push import push

    if last is None:
        raise InvalidTransition(mod.pk, mod.status, S.ROLLED_BACK, "no pushed branch to take back")
    push(mod.workspace, "", last.target_ref, last.new_commit)
    transition(
        mod,
        S.ROLLED_BACK,
        actor,
        reason,
        rollback_count=mod.rollback_count + 1,
        data={"method": "branch deleted", "ref": last.target_ref, "was": last.new_commit},
    )
    _post_verdict(mod, last.new_commit, "failure", f"rolled back, branch deleted: {reason}")
    return mod


def recover_remote() -> list[int]:
    """Remote patches left in `applying` by a worker that died: judged by the remote's ref, the
    only truth that survives. Returns the ids of the patches settled."""
    from ..apply.lock import held_by_live_worker

    done = []
    stuck = Modification.objects.filter(status=S.APPLYING).exclude(workspace__remote_url="")
    for mod in stuck.select_related("workspace"):
        if held_by_live_worker(mod.workspace_id):
            continue
        try:
            with workspace_lock(mod.workspace):
                if _recover_one(mod):
                    done.append(mod.pk)
        except Exception as exc:  # noqa: BLE001 - one bad remote must not stop the rest
            log.warning("recovering the remote apply of %s failed: %s", mod.pk, exc)
    return done


def _recover_one(mod: Modification) -> bool:
    landing = mod.remote_landings.filter(operation="apply").first()
    if landing is None or landing.state in (L.FAILED, L.REJECTED):
        transition(mod, S.FAILED, "system", "recovered: the worker died before pushing anything")
        return True
    if landing.state == L.OPEN and landing.pr_number:
        return False  # a pull request waits for the forge; the webhook or the poll settles it
    pushed = landing.state != L.PUSHING
    if not pushed and remote_ref(mod.workspace, landing.target_ref) != landing.new_commit:
        landing.state, landing.error = L.FAILED, "the worker died before the push landed"
        landing.save(update_fields=["state", "error"])
        transition(mod, S.FAILED, "system", "recovered: the push never reached the remote")
        return True
    # Pushed (or an open request never announced): finish what the dead worker started.
    _after_push(mod, "system", landing)
    return True
