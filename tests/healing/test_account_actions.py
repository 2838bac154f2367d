"""healing.actions.accounts: the provider's sign-in writes users, links and roles, audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from healing.actions.accounts import ExternalSignIn, do_external_sign_in, do_set_roles
from healing.models import AuditEvent, ExternalIdentity
from healing.roles import Role, roles_of
from tests import factories

pytestmark = pytest.mark.django_db


def _sign_in(subject: str = "sub-1", roles: frozenset[Role] = frozenset({Role.REVIEWER}),
             username: str = "dana") -> ExternalSignIn:  # fmt: skip
    return ExternalSignIn(
        issuer="https://id.example.test",
        subject=subject,
        username=username,
        email="dana@example.test",
        groups=("dev",),
        roles=roles,
    )


def test_it_sets_exactly_the_roles_and_leaves_the_agent_role_alone() -> None:
    user = factories.make_user("multi", role="agent")
    user.groups.add(Group.objects.get(name="admin"))
    assert do_set_roles(user, {Role.REVIEWER}, actor="test", reason="sync")
    assert set(user.groups.values_list("name", flat=True)) == {"agent", "reviewer"}
    event = AuditEvent.objects.get(kind="account.roles_changed")
    assert event.data == {"user": "multi", "from": ["admin"], "to": ["reviewer"]}
    assert not do_set_roles(user, {Role.REVIEWER}, actor="test", reason="again")
    assert AuditEvent.objects.filter(kind="account.roles_changed").count() == 1


def test_it_creates_nobody_for_a_new_account_without_a_role() -> None:
    assert do_external_sign_in(_sign_in(roles=frozenset())) is None
    assert not ExternalIdentity.objects.exists()


def test_it_finds_the_same_user_by_subject_even_when_the_name_changes() -> None:
    first = do_external_sign_in(_sign_in())
    renamed = do_external_sign_in(_sign_in(username="dana.smith", roles=frozenset({Role.ADMIN})))
    assert first is not None and renamed is not None and renamed.pk == first.pk
    assert roles_of(renamed) == {Role.ADMIN, Role.OPERATOR, Role.REVIEWER}
    assert ExternalIdentity.objects.count() == 1


def test_it_lets_two_simultaneous_first_sign_ins_of_one_account_both_succeed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No row exists to lock at a first sign-in: the other sign-in commits its user and link
    # between our look-up (which found nothing) and our insert. Replayed here at that point,
    # outside our savepoint, as another connection would.
    from healing.actions import accounts

    real = accounts._identity
    raced: list[object] = []

    def other_sign_in_after_our_look_up(sign_in: ExternalSignIn) -> object:
        if raced:
            return real(sign_in)
        found = real(sign_in)
        raced.append(None)  # the other sign-in itself looks up unhindered
        raced[0] = do_external_sign_in(_sign_in())
        return found

    monkeypatch.setattr(accounts, "_identity", other_sign_in_after_our_look_up)
    user = do_external_sign_in(_sign_in())
    assert user is not None and user.pk == raced[0].pk  # type: ignore[attr-defined]
    assert ExternalIdentity.objects.count() == 1
    assert AuditEvent.objects.filter(kind="account.created").count() == 1
