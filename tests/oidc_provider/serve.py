"""Set up and serve the test provider: `python -m tests.oidc_provider.serve SPEC_JSON`.

SPEC_JSON: {"port": ..., "clients": [{"client_id": ..., "client_secret": ..., "redirect_uri": ...}],
"users": [{"username": ..., "password": ..., "email": ..., "groups": [...]}]}. OIDC_PROVIDER_DIR
and OIDC_PROVIDER_URL come from the environment. Prints "ready" once it listens."""

from __future__ import annotations

import json
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    spec = json.loads(sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application
    from oidc_provider.models import Client, ResponseType, RSAKey

    call_command("migrate", verbosity=0)
    if not RSAKey.objects.exists():
        call_command("creatersakey", stdout=open(os.devnull, "w"))  # noqa: SIM115
    for spec_user in spec["users"]:
        user = User.objects.create_user(
            spec_user["username"], email=spec_user.get("email", ""), password=spec_user["password"]
        )
        for name in spec_user.get("groups", []):
            user.groups.add(Group.objects.get_or_create(name=name)[0])
    for client_spec in spec["clients"]:
        client = Client.objects.create(
            name=client_spec["client_id"],
            client_type="confidential",
            client_id=client_spec["client_id"],
            client_secret=client_spec["client_secret"],
            jwt_alg="RS256",
            require_consent=False,
            redirect_uris=[client_spec["redirect_uri"]],
        )
        client.response_types.add(ResponseType.objects.get(value="code"))

    server = WSGIServer(("127.0.0.1", spec["port"]), QuietHandler)
    server.set_app(get_internal_wsgi_application())
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
