"""Patches that keep a sandbox busy (the emergency-stop tests and bench/emergency_stop.py), and a
loopback listener that tells whether a sandboxed test reached the host's network; and the waits of
the tests that stop such a sandbox running in a real worker."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from healing.sandbox.scratch import SCRATCH_PREFIX

if TYPE_CHECKING:  # bench/emergency_stop.py imports this module before Django is set up
    from healing.models import Modification

# A new test that never ends: the patched run stays busy until something kills it.
ENDLESS_TEST = """--- /dev/null
+++ b/test_endless.py
@@ -0,0 +1,6 @@
+import time
+
+
+def test_endless():
+    while True:
+        time.sleep(0.01)
"""


def new_file_diff(path: str, source: str) -> str:
    """A diff that adds `path` with `source`."""
    lines = source.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


# A test that dials the host's loopback: `{port}` is a loopback_listener's.
NETWORK_TEST = (
    "import socket\n\ndef test_net():\n"
    "    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
)


@contextmanager
def loopback_listener() -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """(port, connections accepted) of a TCP server on the host's 127.0.0.1. A sandboxed test
    that reaches it has escaped its network namespace; whatever happens, no packet leaves this
    machine (a public address would be a real target if isolation ever failed)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    accepted: list[tuple[str, int]] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, peer = server.accept()
            except OSError:  # the timeout: look at `done` again
                continue
            accepted.append(peer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        done.set()
        thread.join(2)
        server.close()


def scratch_dirs() -> set[Path]:
    """The sandbox scratch trees of this run (the pytest plugin gives each run its own TMPDIR)."""
    return set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"))


def sandbox_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            cwd = proc.cwd()
            if cwd.startswith(tempfile.gettempdir()) and SCRATCH_PREFIX in cwd:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def endless_modification(tmp_path: Path, name: str, **workspace_options: Any) -> Modification:
    """A patch, ready for its sandbox, whose new test never ends."""
    from tests import factories

    repo = factories.make_git_repo(
        tmp_path / "repo", {"app.py": "X = 1\n", "test_app.py": "def test_ok():\n    pass\n"}
    )
    ws = factories.make_workspace(repo, name=name, isolation_level="partial", **workspace_options)
    return factories.make_modification(
        ws,
        diff=ENDLESS_TEST,
        status="sandboxing",
        base_commit=ws.head_commit(),
        safety_level="SAFE",
    )


def wait_until_under_way(scratch_before: set[Path], deadline: float) -> None:
    """Until the patched run is under way in the worker (a new scratch tree appears), and a second
    more for its endless test to start."""
    while time.monotonic() < deadline and not scratch_dirs() - scratch_before:
        time.sleep(0.05)
    time.sleep(1.0)


def wait_out_of(mod: Modification, status: str, seconds: float) -> Modification:
    """`mod` fresh from the database once it has left `status` (or `seconds` have passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mod.refresh_from_db()
        if mod.status != status:
            break
        time.sleep(0.1)
    return mod
