from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from healing.actions.tokens import do_rotate_token
from healing.models import ApiToken


def live_token(name: str, token_id: int | None) -> ApiToken:
    """The one live key of account NAME (or the one with --id)."""
    tokens = ApiToken.objects.live().filter(user__username=name)
    if token_id is not None:
        tokens = tokens.filter(pk=token_id)
    found = list(tokens[:2])
    if not found:
        raise CommandError(f"{name} has no live API token{' with that id' if token_id else ''}.")
    if len(found) > 1:
        ids = ", ".join(str(t.pk) for t in tokens)
        raise CommandError(f"{name} has several live API tokens ({ids}); choose one with --id.")
    return found[0]


class Command(BaseCommand):
    help = "Give an API key a new secret (the old one stops at once); prints the new key last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--id", type=int, default=None, dest="token_id")

    @transaction.atomic
    def handle(self, *args: Any, name: str, token_id: int | None, **options: Any) -> None:
        token = live_token(name, token_id)
        key = do_rotate_token(f"cli:{getpass.getuser()}", token)
        self.stderr.write(f"Rotated token {token.pk} of {name}; the old key no longer works.")
        self.stdout.write(key)
