"""Patches that keep a sandbox busy (the emergency-stop tests and bench/emergency_stop.py), and a
loopback listener that tells whether a sandboxed test reached the host's network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
