"""A real OpenID Connect provider (tests/oidc_provider) in a subprocess on a loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.services_helpers import ROOT, free_port, stop

CLIENT_ID = "selfheal-tests"
CLIENT_SECRET = "provider-secret-for-tests"  # noqa: S105
# Another application registered at the same provider: its ID tokens must not sign in to Selfheal.
OTHER_CLIENT = {
    "client_id": "another-app",
    "client_secret": "another-app-secret",
    "redirect_uri": "http://127.0.0.1:9/another-app/callback",
}
ROLE_MAP = "selfheal-admins=admin,selfheal-ops=operator,dev=reviewer"


@dataclass(frozen=True)
class Provider:
    issuer: str

    def selfheal_config(self, **overrides: Any) -> dict[str, Any]:
        """settings.SELFHEAL_OIDC for Selfheal processes in the test (as env.oidc_config makes)."""
        cfg = {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "endpoints": {"authorization": "", "token": "", "userinfo": "", "jwks": ""},
            "provider_name": "Test IdP",
            "scopes": "openid email profile groups",
            "roles_claim": "groups",
            "role_map": dict(item.split("=") for item in ROLE_MAP.split(",")),
            "timeout": 30.0,
        }
        return {**cfg, **overrides}

    def selfheal_env(self) -> dict[str, str]:
        """The same configuration as the environment a Selfheal server reads at start-up."""
        return {
            "SELFHEAL_OIDC_ISSUER": self.issuer,
            "SELFHEAL_OIDC_CLIENT_ID": CLIENT_ID,
            "SELFHEAL_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "SELFHEAL_OIDC_PROVIDER_NAME": "Test IdP",
            "SELFHEAL_OIDC_ROLE_MAP": ROLE_MAP,
        }


USERS = [
    {"username": "olivia", "password": "olivia-pw-1", "email": "olivia@example.test",
     "groups": ["selfheal-ops", "staff"]},
    {"username": "dora", "password": "dora-pw-1", "email": "dora@example.test",
     "groups": ["dev"]},
    {"username": "nick", "password": "nick-pw-1", "email": "nick@example.test",
     "groups": ["marketing"]},
]  # fmt: skip


@contextmanager
def running_provider(redirect_uri: str, users: list[dict[str, Any]] = USERS) -> Iterator[Provider]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="oidc-provider-") as state:
        env = dict(os.environ, OIDC_PROVIDER_DIR=state, OIDC_PROVIDER_URL=url)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("DATABASE_URL", None)
        spec = {
            "port": port,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uri": redirect_uri,
                },
                OTHER_CLIENT,
            ],
            "users": users,
        }
        log = Path(state) / "provider.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.oidc_provider.serve", json.dumps(spec)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=out, start_new_session=True,
            )  # fmt: skip
            try:
                assert process.stdout is not None
                line = process.stdout.readline()  # "ready" once it listens, EOF if it died
                if line.strip() != b"ready":
                    raise RuntimeError(f"the test provider did not start: {log.read_text()}")
                yield Provider(issuer=url)
            finally:
                stop(process)
