from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create the `admin` user once. Password from SELFHEAL_ADMIN_PASSWORD, else generated and printed once."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        wanted = os.environ.get("SELFHEAL_ADMIN_PASSWORD", "")
        user = User.objects.filter(username="admin").first()
        if user is not None:
            if wanted and not user.check_password(wanted):
                user.set_password(wanted)
                user.save(update_fields=["password"])
                self.stdout.write("Admin user `admin`: password set from SELFHEAL_ADMIN_PASSWORD.")
            else:
                self.stdout.write("Admin user `admin` exists; its password is unchanged.")
            return
        password = wanted or secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", email="", password=password)
        user.groups.add(Group.objects.get(name="admin"))
        if wanted:
            self.stdout.write(
                "Created admin user `admin` with the password from SELFHEAL_ADMIN_PASSWORD."
            )
        else:
            self.stdout.write(
                self.style.WARNING(f"Created admin user `admin` with password: {password}")
            )
            self.stdout.write(
                "It is shown only this once; set SELFHEAL_ADMIN_PASSWORD to choose it."
            )
