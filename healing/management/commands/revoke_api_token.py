from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from healing.actions.tokens import do_revoke_token

from .rotate_api_token import live_token


class Command(BaseCommand):
    help = "Revoke an account's API key at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--id", type=int, default=None, dest="token_id")
        parser.add_argument("--reason", default="")

    @transaction.atomic
    def handle(
        self, *args: Any, name: str, token_id: int | None, reason: str, **options: Any
    ) -> None:
        token = live_token(name, token_id)
        do_revoke_token(f"cli:{getpass.getuser()}", token, reason=reason)
        self.stdout.write(f"Revoked token {token.pk} ({token.prefix}…) of {name}.")
