"""Django's deployment checklist is clean for the production settings (https SITE_URL, real secret)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_passes_check_deploy_with_production_settings() -> None:
    env = dict(
        os.environ,
        SECRET_KEY=secrets.token_urlsafe(60),
        SITE_URL="https://selfheal.example.com",
        ALLOWED_HOSTS="selfheal.example.com",
        DEBUG="false",
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
