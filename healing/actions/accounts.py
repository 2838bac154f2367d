"""Accounts signed in through the company's identity provider, and the roles they hold."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import ExternalIdentity
from ..roles import Role
from .audit import record_event

# The roles a provider's groups may grant (and so take away again at the next sign-in).
PROVIDER_ROLES = (Role.REVIEWER, Role.OPERATOR, Role.ADMIN)


@dataclass(frozen=True)
class ExternalSignIn:
    issuer: str
    subject: str
    username: str  # wanted, e.g. preferred_username; suffixed when a local account has it
    email: str
    groups: tuple[str, ...]
    roles: frozenset[Role]


@transaction.atomic
def do_set_roles(user: AbstractBaseUser, roles: set[Role], *, actor: str, reason: str) -> bool:
    """Give `user` exactly `roles` among the provider-grantable ones; True if anything changed.

    The agent role is left alone: it is granted with `manage.py create_api_user`, not here.
    """
    # The role groups come with a data migration; a database flushed since (or restored without
    # it) still gets them rather than failing the sign-in.
    groups = {r.value: Group.objects.get_or_create(name=r.value)[0] for r in PROVIDER_ROLES}
    had = {Role(n) for n in user.groups.filter(name__in=groups).values_list("name", flat=True)}  # type: ignore[attr-defined]
    if had == roles:
        return False
    user.groups.remove(*(groups[r.value] for r in had - roles))  # type: ignore[attr-defined]
    user.groups.add(*(groups[r.value] for r in roles - had))  # type: ignore[attr-defined]
    user.__dict__.pop("_selfheal_roles", None)  # roles_of() caches on the instance
    record_event(
        "account.roles_changed",
        actor,
        reason=reason,
        data={
            "user": user.get_username(),
            "from": sorted(r.value for r in had),
            "to": sorted(r.value for r in roles),
        },
    )
    return True


@transaction.atomic
def do_external_sign_in(sign_in: ExternalSignIn) -> AbstractBaseUser | None:
    """Find (or create) the user linked to the provider's account and re-sync its roles.

    Returns None when the account is new and its groups map to no role: nobody is created
    for it. A known account whose groups no longer map to a role keeps its user but loses
    every role, so the caller can refuse the sign-in and say why.
    """
    identity = _identity(sign_in)
    actor = f"oidc:{sign_in.issuer}"
    if identity is None:
        if not sign_in.roles:
            return None
        identity, created = _first_sign_in(sign_in, actor)
    else:
        created = False
    user = identity.user
    if not created:
        identity.groups = list(sign_in.groups)
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["groups", "last_sign_in_at"])
        if sign_in.email and user.email != sign_in.email:  # type: ignore[attr-defined]
            user.email = sign_in.email  # type: ignore[attr-defined]
            user.save(update_fields=["email"])
    do_set_roles(
        user,
        set(sign_in.roles),
        actor=actor,
        reason=f"groups at sign-in: {', '.join(sign_in.groups) or 'none'}",
    )
    return user


class NotAnApiUser(Exception):
    """The name belongs to an account that is not an API user of that role (e.g. a person)."""


@transaction.atomic
def do_create_api_user(name: str, role: Role, *, actor: str) -> tuple[User, bool]:
    """The API user `name` holding `role`, created if new; (user, created).

    An existing account is only ever *found* here, never converted: a person (signs in with a
    password or through the provider) or an account without that role is refused, so a key
    cannot be minted for someone else's account.
    """
    user = User.objects.select_for_update().filter(username=name).first()
    if user is not None:
        if ExternalIdentity.objects.filter(user=user).exists() or user.has_usable_password():
            raise NotAnApiUser(f"{name} is a person's account, not an API user.")
        if not user.groups.filter(name=role.value).exists():
            raise NotAnApiUser(f"{name} exists without the {role.value} role; not changed.")
        return user, False
    user = User.objects.create_user(name)  # no password
    # A missing role group is made, as at sign-in: a deleted group must not fail the command.
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    record_event(
        "account.created",
        actor,
        reason="API user created",
        data={"user": name, "role": role.value},
    )
    return user, True


def _identity(sign_in: ExternalSignIn) -> ExternalIdentity | None:
    return (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=sign_in.issuer, subject=sign_in.subject)
        .first()
    )


def _first_sign_in(sign_in: ExternalSignIn, actor: str) -> tuple[ExternalIdentity, bool]:
    """The account's user and link, created; or, when a simultaneous first sign-in of the same
    account won the race, the one it created (no row to lock existed: the unique constraint
    decides). (identity, created)."""
    User = get_user_model()
    for suffixed in (False, True):
        try:
            with transaction.atomic():  # a savepoint: losing the race leaves ours usable
                user = User.objects.create_user(  # type: ignore[attr-defined]
                    _free_username(sign_in, suffixed=suffixed), email=sign_in.email
                )  # no password: this user signs in at the provider only
                identity = ExternalIdentity.objects.create(
                    user=user,
                    issuer=sign_in.issuer,
                    subject=sign_in.subject,
                    groups=list(sign_in.groups),
                )
        except IntegrityError:
            raced = _identity(sign_in)
            if raced is not None:
                return raced, False
            if suffixed:
                raise
            continue  # the name was taken meanwhile by another account: the suffixed one
        record_event(
            "account.created",
            actor,
            reason="first sign-in through the identity provider",
            data={"user": user.get_username(), "subject": sign_in.subject},
        )
        return identity, True
    raise AssertionError("unreachable")


def _free_username(sign_in: ExternalSignIn, *, suffixed: bool = False) -> str:
    User = get_user_model()
    base = (sign_in.username or sign_in.subject)[:120]
    if not suffixed and not User.objects.filter(username=base).exists():
        return base
    # Taken (by a local account or another provider's): a stable suffix from the subject.
    digest = hashlib.sha256(f"{sign_in.issuer} {sign_in.subject}".encode()).hexdigest()[:8]
    return f"{base}-{digest}"
