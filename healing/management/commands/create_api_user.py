from __future__ import annotations

import getpass
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from healing.actions.accounts import NotAnApiUser, do_create_api_user
from healing.actions.tokens import UnknownWorkspace, do_create_token, do_grant_workspaces
from healing.models import ApiToken
from healing.roles import Role


class Command(BaseCommand):
    help = (
        "Create (or update) an API user with a role. A new key is printed as the last line; "
        "only its hash is kept, so a user that already holds a live key gets none (see "
        "rotate_api_token). --workspace grants the user's keys those workspaces only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument(
            "--workspace",
            action="append",
            default=[],
            metavar="W",
            help="A workspace the key may submit to (repeat for more). None: every workspace.",
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="The key stops working after N days."
        )

    @transaction.atomic
    def handle(
        self,
        *args: Any,
        name: str,
        role: str,
        workspace: list[str],
        expires_days: int | None,
        **options: Any,
    ) -> None:
        if not name.strip() or len(name) > 150:
            raise CommandError("NAME must be 1 to 150 characters.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        actor = f"cli:{getpass.getuser()}"
        try:
            user, created = do_create_api_user(name, Role(role), actor=actor)
        except NotAnApiUser as exc:
            raise CommandError(str(exc)) from exc
        live = list(ApiToken.objects.live().filter(user=user))
        try:
            if live:
                for token in live:
                    if workspace:
                        do_grant_workspaces(actor, token, workspace)
                prefixes = ", ".join(f"{t.prefix}…" for t in live)
                self.stderr.write(
                    f"Updated {name} with role {role}; it keeps its key ({prefixes}). "
                    f"A new one: manage.py rotate_api_token {name}"
                )
                return
            expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
            _, key = do_create_token(
                actor, user, name="create_api_user", expires_at=expires, workspaces=workspace
            )
        except UnknownWorkspace as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"{'Created' if created else 'Updated'} {name} with role {role}.")
        self.stdout.write(key)
