"""Data for the console's tests: patches as the pipeline leaves them for a reviewer; and a client
of the live websocket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from channels.testing import WebsocketCommunicator

from healing.actions import transition
from healing.models import Modification, Workspace
from tests import factories


@contextmanager
def mail_in_process(settings: Any) -> Iterator[None]:
    """Notices sent by Celery tasks run in this process, to Django's locmem outbox, with links
    to https://selfheal.example."""
    from selfheal_site.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://selfheal.example"
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


LIVE_HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1")]


def live_socket(token: str | None = None, path: str = "/ws/live/") -> WebsocketCommunicator:
    """A client of the real ASGI application's live websocket, not yet connected; signed in with
    `token` (the Authorization header) when one is given."""
    from selfheal_site.asgi import application

    headers = list(LIVE_HEADERS)
    if token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


DIFF = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,3 @@
 def add(a, b):
-    return a + b
+    total = a + b
+    return total
"""

VALIDATION = {
    "syntax": {"findings": [], "duration_ms": 3},
    "dangerous_patterns": {
        "findings": [
            {
                "severity": "high",
                "file": "app.py",
                "line": 2,
                "column": 5,
                "message": "suspicious assignment",
                "rule": "DP001",
            },
            {
                "severity": "low",
                "file": "other.py",
                "line": 9,
                "column": 1,
                "message": "outside the diff",
                "rule": "DP002",
            },
        ],
        "duration_ms": 5,
    },
}


def awaiting(workspace: Workspace, level: str = "MEDIUM_RISK", **fields: Any) -> Modification:
    """A modification that reached awaiting_approval through real transitions (audit rows and all)."""
    fields.setdefault("diff", DIFF)
    fields.setdefault("validation", VALIDATION)
    fields.setdefault("files", ["app.py"])
    fields.setdefault("error_type", "logic")
    mod = factories.make_modification(
        workspace, safety_level=level, safety_rule=f"test rule for {level}", **fields
    )
    transition(mod, "validating", "system")
    transition(mod, "sandboxing", "system")
    transition(mod, "awaiting_approval", "system", "held for a reviewer")
    return mod


def link_in_mail(outbox: list[Any], address: str, action: str) -> str:
    """The path of the `action` link ("approve" or "reject") in the mail sent to `address`."""
    import re

    bodies = [m.body for m in outbox if m.to == [address]]
    assert bodies, f"no mail to {address}"
    found = re.search(
        rf"^{action.capitalize()}: https?://[^/\s]+(/patches/link/[\w-]+/)$", bodies[-1], re.M
    )
    assert found, bodies[-1]
    return found.group(1)
