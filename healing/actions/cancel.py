"""Ending a patch early: an operator's cancel, and a stage that ran out of time."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import InvalidTransition, Modification, ModificationStatus
from ..roles import Role, has_role
from .audit import Actor
from .modifications import transition

S = ModificationStatus


def _kill_sandbox(modification_id: int) -> None:
    from ..sandbox.stop import signal_cancel

    signal_cancel(modification_id)


@transaction.atomic
def do_cancel(modification: Modification, actor: User, reason: str) -> Modification:
    """Any state before `applying` → cancelled (operators and admins). A running sandbox of the
    patch is killed after the commit. Raises ValidationError or InvalidTransition."""
    reason = (reason or "").strip()
    if not has_role(actor, Role.OPERATOR):
        raise PermissionError("Cancelling a patch needs the operator role.")
    if not reason:
        raise ValidationError("Cancelling a patch needs a reason.")
    current = Modification.objects.select_for_update().get(pk=modification.pk)
    if not current.can_transition_to(S.CANCELLED):
        raise InvalidTransition(
            current.pk,
            current.status,
            S.CANCELLED,
            "only a patch not yet applying can be cancelled",
        )
    transition(current, S.CANCELLED, actor, reason, expected_from=current.status)
    # robust: the cancel has committed; Redis being down must not turn it into a 500 (the run
    # still ends at its own time limit, and the log says the kill was not sent).
    transaction.on_commit(lambda: _kill_sandbox(current.pk), robust=True)
    modification.status = current.status
    modification.status_changed_at = current.status_changed_at
    return modification


# Where a stage that ran out of time leaves the patch. (An apply that hangs mid-landing is
# resolved from its journal by apply recovery, never guessed here.)
TIMED_OUT_TO: dict[str, S] = {S.VALIDATING: S.REJECTED, S.SANDBOXING: S.REJECTED}


@transaction.atomic
def do_time_out(modification: Modification, stage: str, seconds: int, actor: Actor = None) -> bool:
    """A stage hit its time limit: rejected with the reason. False when
    the patch had already moved on (cancelled, or another worker finished it)."""
    current = Modification.objects.select_for_update().filter(pk=modification.pk).first()
    if current is None or current.status not in TIMED_OUT_TO:
        return False
    transition(
        current,
        TIMED_OUT_TO[current.status],
        actor,
        f"timed out after {seconds} s in {stage}",
        expected_from=current.status,
        data={"timed_out": stage, "seconds": seconds},
    )
    return True
