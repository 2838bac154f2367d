from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from healing.roles import Role


class Command(BaseCommand):
    help = "Create (or update) an API user with a role and print its token as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])

    @transaction.atomic
    def handle(self, *args: Any, name: str, role: str, **options: Any) -> None:
        User = get_user_model()
        if not name.strip() or len(name) > 150:
            raise CommandError("NAME must be 1 to 150 characters.")
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save()
        group = Group.objects.get(name=role)
        user.groups.add(group)
        token, _ = Token.objects.get_or_create(user=user)
        self.stderr.write(f"{'Created' if created else 'Updated'} {name} with role {role}.")
        self.stdout.write(token.key)
