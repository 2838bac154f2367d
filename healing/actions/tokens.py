"""API keys: issue, rotate, revoke, grant workspaces. The key itself is returned once and only
its sha256 is stored; every change is audited under the token's id and prefix, never the key."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ApiToken, Workspace, hash_key
from .audit import Actor, record_event

# last_used_at is bookkeeping: written at most once per this interval per key.
LAST_USED_EVERY = timedelta(minutes=1)


class UnknownWorkspace(ValueError):
    pass


def _new_key() -> str:
    return secrets.token_hex(20)  # 40 characters, as DRF's keys were: scripts keep working


def _audit(kind: str, actor: Actor, token: ApiToken, **data: object) -> None:
    record_event(
        kind,
        actor,
        data={
            "token_id": token.pk,
            "prefix": token.prefix,
            "user": token.user.get_username(),
            **data,
        },
    )


def _workspaces(names: Iterable[str]) -> list[Workspace]:
    wanted = sorted(set(names))
    found = list(Workspace.objects.filter(name__in=wanted).order_by("name"))
    missing = sorted(set(wanted) - {w.name for w in found})
    if missing:
        raise UnknownWorkspace(f"No such workspace: {', '.join(missing)}.")
    return found


@transaction.atomic
def do_create_token(
    actor: Actor,
    user: User,
    *,
    name: str = "",
    expires_at: datetime | None = None,
    workspaces: Iterable[str] = (),
) -> tuple[ApiToken, str]:
    """A new key for `user`; returns (token, key). The key is not kept anywhere."""
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValueError("expires_at must be timezone-aware")
    granted = _workspaces(workspaces)
    key = _new_key()
    token = ApiToken.objects.create(
        user_id=user.pk, name=name, key_hash=hash_key(key), prefix=key[:6], expires_at=expires_at
    )
    token.workspaces.set(granted)
    if granted:
        token.scoped = True
        token.save(update_fields=["scoped"])
    _audit(
        "token.create",
        actor,
        token,
        expires_at=expires_at.isoformat() if expires_at else None,
        workspaces=[w.name for w in granted],
    )
    return token, key


@transaction.atomic
def do_rotate_token(actor: Actor, token: ApiToken) -> str:
    """A new key on the same token (grants and expiry kept); the old key is dead on commit."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValueError("A revoked token cannot be rotated; issue a new one.")
    old_prefix = token.prefix
    key = _new_key()
    token.key_hash, token.prefix, token.rotated_at = hash_key(key), key[:6], timezone.now()
    token.save(update_fields=["key_hash", "prefix", "rotated_at"])
    _audit("token.rotate", actor, token, old_prefix=old_prefix)
    return key


@transaction.atomic
def do_revoke_token(actor: Actor, token: ApiToken, *, reason: str = "") -> bool:
    """Revoke at once; False if it already was (nothing recorded twice)."""
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    token.revoked_at = now
    _audit("token.revoke", actor, token, reason=reason)
    return True


@transaction.atomic
def do_grant_workspaces(actor: Actor, token: ApiToken, names: Iterable[str]) -> list[str]:
    """Replace the token's grant with exactly `names` (empty: no grant). Returns the new grant."""
    granted = _workspaces(names)
    before = sorted(token.workspaces.values_list("name", flat=True))
    after = [w.name for w in granted]
    if before != after or token.scoped != bool(granted):
        token.workspaces.set(granted)
        token.scoped = bool(granted)
        token.save(update_fields=["scoped"])
        _audit("token.grant", actor, token, before=before, after=after)
    return after


def do_mark_used(token: ApiToken, now: datetime | None = None) -> None:
    """Cheap: one conditional UPDATE, and only when the last mark is a minute old. Not audited
    (it would be one event per request)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    marked = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY))
        .update(last_used_at=now)
    )
    if marked:
        token.last_used_at = now
