"""Reviewers' decisions: approve, reject, bulk approve. The console owns the Approval rows, so
these actions live here; the core learns of a decision only through `transition()`.

Race-safe: the modification row is locked (select_for_update; SQLite's IMMEDIATE transactions
serialise writers the same way) and the move to `approved` is the conditional transition, so two
reviewers clicking at once give exactly one transition and the other gets a clear answer.
Idempotent: a second click by the same person changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from healing import tunables
from healing.actions import ConcurrentTransition, record_event, transition
from healing.models import AuditEvent, Modification, hash_key
from healing.models.modification import ModificationStatus, SafetyLevel
from healing.queueing import send_later
from healing.roles import Role, has_role

from .models import Approval, Decision, NotificationSent

S = ModificationStatus
# After approval the patch moves on by itself; a repeated approval of it is not an error.
_PAST_APPROVAL = frozenset({S.APPROVED, S.APPLYING, S.APPLIED})
BULK_LEVELS = frozenset({SafetyLevel.SAFE, SafetyLevel.LOW_RISK, SafetyLevel.MEDIUM_RISK})


class ApprovalRefused(Exception):
    """The decision was not taken. `code`: forbidden | own_submission | comment_required |
    stale | already_decided | not_bulk."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class ApprovalOutcome:
    modification: Modification
    transitioned: bool  # this call moved the modification
    approvals: int  # approvals in the current round
    needed: int
    message: str
    approvers: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.modification.pk,
            "patch_id": self.modification.patch_id,
            "status": self.modification.status,
            "transitioned": self.transitioned,
            "approvals": self.approvals,
            "needed": self.needed,
            "approvers": self.approvers,
            "detail": self.message,
        }


def approvals_needed(modification: Modification) -> int:
    if modification.safety_level == SafetyLevel.CRITICAL and tunables.get(
        "safety.critical_two_approvals", modification.workspace
    ):
        return 2
    return 1


def comment_required(modification: Modification) -> bool:
    return modification.needs_human


def approval_round(modification_id: int) -> int:
    """How often the modification entered awaiting_approval: approvals count per round only."""
    held = AuditEvent.objects.filter(
        modification_id=modification_id,
        kind="modification.transition",
        to_state=S.AWAITING_APPROVAL,
    ).count()
    return max(1, held)


def _approvers(modification_id: int, round_: int) -> list[str]:
    # Distinct people (one vote per user and round is a constraint), never the submitter and
    # never an agent account, whatever let their vote in.
    return [
        a.user.get_username()
        for a in Approval.objects.for_round(modification_id, round_)
        .approvals()
        .exclude(user_id=F("modification__submitted_by_id"))
        .exclude(user__groups__name=Role.AGENT.value)
        .select_related("user")
    ]


def _lock(modification: Modification) -> Modification:
    return (
        Modification.objects.select_for_update().select_related("workspace").get(pk=modification.pk)
    )


def _stale_message(current: Modification) -> str:
    message = (
        f"{current.patch_id} is {current.status.replace('_', ' ')} now, no longer awaiting approval"
    )
    if current.status == S.BLOCKED and current.block_reason:
        message += f" ({current.block_reason})"
    return message + "."


def _is_submitter(current: Modification, user: User) -> bool:
    if current.submitted_by_id is not None:
        return current.submitted_by_id == user.pk
    name = user.get_username()
    return current.source in {f"agent:{name}", f"user:{name}", f"cli:{name}"}


def _check_reviewer(current: Modification, user: User, comment: str) -> None:
    if not has_role(user, Role.REVIEWER):
        raise ApprovalRefused("Deciding on a patch needs the reviewer role.", "forbidden")
    if has_role(user, Role.AGENT):
        # An agent account is a program, not a person: it never counts as a reviewer.
        raise ApprovalRefused("Agent accounts do not decide on patches.", "forbidden")
    if _is_submitter(current, user):
        raise ApprovalRefused(
            "Nobody decides on their own submission: ask another reviewer.", "own_submission"
        )
    if comment_required(current) and not comment:
        raise ApprovalRefused(
            f"A comment is required for a {current.safety_level} patch: say why.",
            "comment_required",
        )


def _check_round(current: Modification, round_: int, seen_round: int | None) -> None:
    """The reviewer decided on what their page showed: if the patch was re-checked and held again
    since (HEAD moved, the diff was re-validated), that decision is not about this version."""
    if seen_round is not None and seen_round != round_:
        raise ApprovalRefused(
            f"{current.patch_id} changed since you opened it: it was checked again and is held anew. "
            "Review it again before deciding.",
            "changed",
        )


def _check_digest(current: Modification, seen_digest: str | None) -> str:
    """The reviewer decided on what their page showed: the diff, base commit, safety level and
    findings hashed into the digest the form carried. Returns the current digest."""
    digest = current.review_digest()
    if seen_digest is not None and seen_digest != digest:
        raise ApprovalRefused(
            f"{current.patch_id} is not what you reviewed: its diff, base commit, safety level "
            "or findings changed since the page was shown. Review it again.",
            "changed",
        )
    return digest


def _round_digests(modification_id: int, round_: int) -> set[str]:
    """The digests every approval of this round was given on."""
    return {
        str((e.data or {}).get("digest", ""))
        for e in AuditEvent.objects.filter(
            modification_id=modification_id, kind="modification.approval"
        ).only("data")
        if (e.data or {}).get("round") == round_
    }


def _apply_later(modification_id: int) -> None:
    # approved is committed; if the broker is down the stalled-work sweeper sends it later.
    send_later("healing.apply_modification", modification_id)


@transaction.atomic
def do_approve(
    modification: Modification,
    user: User,
    comment: str = "",
    *,
    seen_round: int | None = None,
    seen_digest: str | None = None,
) -> ApprovalOutcome:
    """Record one approval; move to `approved` once enough people approved. Raises ApprovalRefused.
    `seen_digest`: the review_digest() the reviewer's page showed (refused if it changed since)."""
    comment = (comment or "").strip()
    current = _lock(modification)
    round_ = approval_round(current.pk)
    needed = approvals_needed(current)
    mine = Approval.objects.for_round(current.pk, round_).filter(user=user).first()

    if current.status != S.AWAITING_APPROVAL:
        if current.status in _PAST_APPROVAL:
            approvers = _approvers(current.pk, round_)
            who = f" by {', '.join(approvers)}" if approvers else ""
            if mine is not None and mine.decision == Decision.APPROVE:
                message = f"You already approved {current.patch_id}; it is {current.status} now."
            else:
                message = (
                    f"{current.patch_id} was already approved{who}; it is {current.status} now."
                )
            _sync(modification, current)
            if mine is None:
                # The loser of a race (or a late click): told plainly, nothing recorded.
                raise ApprovalRefused(message, "already_decided")
            return _idempotent(current, len(approvers), needed, message, approvers)
        raise ApprovalRefused(_stale_message(current), "stale")

    _check_reviewer(current, user, comment)
    _check_round(current, round_, seen_round)
    digest = _check_digest(current, seen_digest)
    if mine is not None:
        if mine.decision == Decision.APPROVE:
            approvers = _approvers(current.pk, round_)
            return _idempotent(
                current,
                len(approvers),
                needed,
                f"You already approved {current.patch_id}; it needs {needed - len(approvers)} more approval(s) from someone else.",
                approvers,
            )
        raise ApprovalRefused("You rejected this patch already.", "already_decided")

    try:
        with transaction.atomic():
            Approval.objects.create(
                modification=current,
                user=user,
                decision=Decision.APPROVE,
                comment=comment,
                round=round_,
            )
    except IntegrityError:  # the same person's other request won by a hair
        approvers = _approvers(current.pk, round_)
        return _idempotent(
            current, len(approvers), needed, "You already approved this patch.", approvers
        )

    approvers = _approvers(current.pk, round_)
    record_event(
        "modification.approval",
        user,
        workspace_id=current.workspace_id,
        modification_id=current.pk,
        reason=comment,
        data={
            "patch_id": current.patch_id,
            "approvals": len(approvers),
            "needed": needed,
            "round": round_,
            "digest": digest,
        },
    )
    if len(approvers) < needed:
        _sync(modification, current)
        return ApprovalOutcome(
            modification,
            False,
            len(approvers),
            needed,
            f"Approval {len(approvers)} of {needed} recorded; a second person must approve this CRITICAL patch.",
            approvers,
        )
    if _round_digests(current.pk, round_) != {digest}:
        # Approvals given on different versions of the patch do not add up to one decision.
        raise ApprovalRefused(
            f"{current.patch_id} changed between the approvals of this round: review it again.",
            "changed",
        )
    try:
        transition(
            current,
            S.APPROVED,
            user,
            comment,
            expected_from=S.AWAITING_APPROVAL,
            data={"approvers": approvers, "round": round_, "digest": digest},
            approved_digest=digest,
        )
    except ConcurrentTransition as exc:  # pragma: no cover - the row lock makes this the rare path
        raise ApprovalRefused(
            f"Someone else moved {current.patch_id} first: {exc}", "stale"
        ) from exc
    transaction.on_commit(lambda: _apply_later(current.pk))
    _sync(modification, current)
    return ApprovalOutcome(
        modification, True, len(approvers), needed, f"{current.patch_id} approved.", approvers
    )


def _idempotent(
    current: Modification, count: int, needed: int, message: str, approvers: list[str]
) -> ApprovalOutcome:
    return ApprovalOutcome(current, False, count, needed, message, approvers)


def _sync(target: Modification, source: Modification) -> None:
    """Give the caller's instance the state we read under the lock."""
    if target is not source:
        target.status = source.status
        target.status_changed_at = source.status_changed_at


@transaction.atomic
def do_reject(
    modification: Modification,
    user: User,
    comment: str = "",
    *,
    seen_round: int | None = None,
) -> ApprovalOutcome:
    """Reject a patch awaiting approval (one reviewer is enough). Raises ApprovalRefused."""
    comment = (comment or "").strip()
    current = _lock(modification)
    round_ = approval_round(current.pk)
    mine = Approval.objects.for_round(current.pk, round_).filter(user=user).first()
    if current.status == S.REJECTED and mine is not None and mine.decision == Decision.REJECT:
        _sync(modification, current)
        return ApprovalOutcome(current, False, 0, 1, f"You already rejected {current.patch_id}.")
    if current.status != S.AWAITING_APPROVAL:
        raise ApprovalRefused(_stale_message(current), "stale")
    _check_reviewer(current, user, comment)
    _check_round(current, round_, seen_round)
    if mine is not None:
        # An approver who changed their mind: their vote becomes the rejection.
        mine.decision = Decision.REJECT
        mine.comment = comment
        mine.save(update_fields=["decision", "comment"])
    else:
        Approval.objects.create(
            modification=current, user=user, decision=Decision.REJECT, comment=comment, round=round_
        )
    transition(
        current,
        S.REJECTED,
        user,
        comment or "rejected by a reviewer",
        expected_from=S.AWAITING_APPROVAL,
        data={"rejected_by": user.get_username(), "round": round_},
    )
    _sync(modification, current)
    return ApprovalOutcome(current, True, 0, 1, f"{current.patch_id} rejected.")


@dataclass
class BulkResult:
    modification_id: int
    ok: bool
    message: str


def do_bulk_approve(ids: list[int], user: User, comment: str = "") -> list[BulkResult]:
    """Approve a selection of SAFE/LOW/MEDIUM patches, each on its own: one refusal does not
    undo the others. HIGH_RISK and CRITICAL are refused here; they need their own page."""
    results: list[BulkResult] = []
    found = {m.pk: m for m in Modification.objects.filter(pk__in=ids).select_related("workspace")}
    for pk in dict.fromkeys(ids):
        modification = found.get(pk)
        if modification is None:
            results.append(BulkResult(pk, False, f"No patch #{pk}."))
            continue
        if modification.safety_level not in BULK_LEVELS:
            results.append(
                BulkResult(
                    pk,
                    False,
                    f"{modification.patch_id} is {modification.safety_level or 'unassessed'}: open it and decide on its own page.",
                )
            )
            continue
        try:
            outcome = do_approve(modification, user, comment)
        except ApprovalRefused as exc:
            results.append(BulkResult(pk, False, exc.message))
        else:
            results.append(BulkResult(pk, True, outcome.message))
    return results


# --- Deciding from where people are: links in notifications, buttons in chat ----------------

LINK_REFUSAL_CODES = frozenset({"wrong_user", "used", "expired", "moved_on", "changed"})


def do_issue_action_links(
    modification: Modification, users: list[User]
) -> dict[int, dict[str, str]]:
    """Approve and reject links for each reviewer a notice goes to, bound to the patch as it is
    now (its review digest). Returns {user pk: {action: token}}; only hashes are stored."""
    from .links import new_token
    from .models import ActionLink, LinkAction

    digest = modification.review_digest()
    tokens: dict[int, dict[str, str]] = {}
    rows: list[ActionLink] = []
    for user in users:
        for action in LinkAction.values:
            token = new_token()
            tokens.setdefault(user.pk, {})[action] = token
            rows.append(
                ActionLink(
                    token_hash=hash_key(token),
                    user=user,
                    modification=modification,
                    action=action,
                    digest=digest,
                )
            )
    with transaction.atomic():
        ActionLink.objects.bulk_create(rows)
    return tokens


@transaction.atomic
def do_decide_by_link(token: str, user: User, comment: str = "") -> ApprovalOutcome:
    """The confirming click on a link: claims the link (once, before it expires) and decides as
    the reviewer it was sent to, on the digest it was sent with. A refusal rolls the claim back,
    so a missing comment can be given on a second try. Raises ApprovalRefused."""
    from django.utils import timezone

    from .links import expires_at, find_link, link_problem
    from .models import ActionLink, LinkAction

    link = find_link(token)
    if link is None:
        raise ApprovalRefused("This link is not valid.", "invalid")
    problem = link_problem(link, user)
    if problem is not None:
        raise ApprovalRefused(problem.message, problem.code)
    now = timezone.now()
    claimed = ActionLink.objects.filter(
        pk=link.pk, used_at__isnull=True, created_at__gt=now - (expires_at(link) - link.created_at)
    ).update(used_at=now)
    if claimed != 1:  # the same link's other click won by a hair
        raise ApprovalRefused("This link was used already; each link works once.", "used")
    if link.action == LinkAction.APPROVE:
        return do_approve(link.modification, user, comment, seen_digest=link.digest)
    return _reject_seen(link.modification, user, comment, link.digest)


def _reject_seen(
    modification: Modification, user: User, comment: str, digest: str
) -> ApprovalOutcome:
    # A rejection is bound to what was shown, like an approval: checked under the row lock.
    current = _lock(modification)
    if current.status == S.AWAITING_APPROVAL:
        _check_digest(current, digest)
    return do_reject(modification, user, comment)


@transaction.atomic
def do_open_thread(modification_id: int, channel: str, ref: str) -> tuple[str, bool]:
    """The thread a patch's notices go to on `channel`: (ref, True) if `ref` starts it now, or
    the stored one and False. Two senders at once agree on the first."""
    from .models import NotificationThread

    existing = NotificationThread.objects.filter(
        modification_id=modification_id, channel=channel
    ).first()
    if existing is not None:
        return existing.ref, False
    try:
        with transaction.atomic():
            NotificationThread.objects.create(
                modification_id=modification_id, channel=channel, ref=ref
            )
    except IntegrityError:
        return NotificationThread.objects.get(
            modification_id=modification_id, channel=channel
        ).ref, False
    return ref, True


@transaction.atomic
def do_decide_from_chat(
    chat_user_id: str, action: str, modification_id: int, digest: str
) -> ApprovalOutcome:
    """A button click in chat, already verified as the platform's: the chat user must map to an
    account (ChatIdentity) holding the reviewer role now. Raises ApprovalRefused."""
    from .models import ChatIdentity

    identity = (
        ChatIdentity.objects.select_related("user")
        .filter(chat_user_id=chat_user_id, user__is_active=True)
        .first()
    )
    if identity is None:
        raise ApprovalRefused(
            "Your chat account is not linked to a Selfheal reviewer: ask an admin.", "unmapped"
        )
    modification = Modification.objects.filter(pk=modification_id).first()
    if modification is None:
        raise ApprovalRefused(f"No patch #{modification_id}.", "invalid")
    user = identity.user
    if action == "approve":
        return do_approve(modification, user, "", seen_digest=digest)
    if action == "reject":
        return _reject_seen(modification, user, "", digest)
    raise ApprovalRefused(f"Unknown action {action!r}.", "invalid")


@transaction.atomic
def do_map_chat_user(
    actor: User | None, chat_user_id: str, user: Any, *, rename_from: str = ""
) -> Any:
    """An admin says which account a chat user is (audited). Remapping replaces the old one;
    `rename_from`: the id this mapping had, which then maps to no one (in the same commit)."""
    from .models import ChatIdentity

    chat_user_id = (chat_user_id or "").strip()
    if not chat_user_id:
        raise ApprovalRefused("A chat user id is required.", "invalid")
    data = {"chat_user_id": chat_user_id, "user": user.get_username()}
    if rename_from and rename_from != chat_user_id:
        ChatIdentity.objects.filter(chat_user_id=rename_from).delete()
        data["renamed_from"] = rename_from
    identity, _ = ChatIdentity.objects.update_or_create(
        chat_user_id=chat_user_id, defaults={"user": user}
    )
    record_event(
        "chat.identity",
        actor,
        reason=f"chat user {chat_user_id} is {user.get_username()}",
        data=data,
    )
    return identity


# --- Notices: one per audit event and channel ----------------------------------------------


def do_claim_notice(event: AuditEvent, channel: str) -> NotificationSent | None:
    """Claim the sending of this event's notice on `channel`; None if someone else has it (the
    unique row is the claim, so a task delivered twice sends once)."""
    try:
        with transaction.atomic():
            return NotificationSent.objects.create(event=event, channel=channel)
    except IntegrityError:
        return None  # already sent (or being sent) by someone else


@transaction.atomic
def do_finish_notice(row: NotificationSent, ok: bool, detail: str) -> None:
    """Record how the claimed notice's delivery went."""
    row.ok = ok
    row.detail = detail[:2000]
    row.save(update_fields=["ok", "detail"])
