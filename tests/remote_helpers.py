"""Real remotes on loopback for the remote-workspace tests: `git daemon` with receive-pack, git's
smart HTTP (`git http-backend`) behind a Basic-auth token check, and a local HTTP server that
speaks the documented subset of the GitHub, GitLab and Gitea APIs and records every request."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests import factories
from tests.services_helpers import free_port


def bare_remote(base: Path, seed: Path, name: str = "repo.git") -> Path:
    """A bare repository under `base` holding `seed`'s main."""
    base.mkdir(parents=True, exist_ok=True)
    bare = base / name
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    factories.git(bare, "config", "http.receivepack", "true")
    return bare


def _wait_port(port: int, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("the server exited early")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def git_daemon(base: Path, port: int | None = None) -> Iterator[str]:
    """`git daemon` serving `base` with pushes allowed; yields git://127.0.0.1:PORT/."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--enable=receive-pack",
            f"--base-path={base}",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_port(port, process)
        yield f"git://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Recorded:
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def http_git(
    base: Path, token: str, user: str = "x-access-token"
) -> Iterator[tuple[str, Recorded]]:
    """git smart HTTP through `git http-backend`, answering 401 without `user:token`."""
    recorded = Recorded()
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            recorded.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers)}
            )
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(base),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": user,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            out = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            lines = head.decode().split("\r\n")
            for line in lines:
                if line.lower().startswith("status:"):
                    status = int(line.split()[1])
            self.send_response(status)
            for line in lines:
                key, _, value = line.partition(":")
                if key and key.lower() != "status":
                    self.send_header(key, value.strip())
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", recorded
    finally:
        server.shutdown()
        server.server_close()


class FakeForge:
    """GitHub REST v3 / GitLab v4 / Gitea v1, the part Selfheal uses. `prs` holds the requests
    opened; set `prs[n]["state"]` to "merged" or "closed" to play the reviewer on the forge (and
    `prs[n]["merge_commit_sha"]` to the commit the merge made)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[dict[str, Any]] = []
        self.prs: dict[str, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.fail_with: int | None = None

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        if self.fail_with:
            return self.fail_with, {"message": "Validation Failed: branch protection"}
        parts = path.strip("/").split("/")
        if "statuses" in parts:
            self.statuses.append({"commit": parts[-1], **body})
            return 201, {"id": len(self.statuses)}
        if method == "POST" and parts[-1] in ("pulls", "merge_requests"):
            number = str(len(self.prs) + 1)
            self.prs[number] = {"state": "open", "body": body}
            url = f"http://forge.invalid/pr/{number}"
            key = "iid" if self.kind == "gitlab" else "number"
            return 201, {key: int(number), "html_url": url, "web_url": url}
        if method == "GET" and parts[-2] in ("pulls", "merge_requests"):
            pr = self.prs.get(parts[-1])
            if pr is None:
                return 404, {"message": "Not Found"}
            merge_sha = pr.get("merge_commit_sha")
            if self.kind == "gitlab":
                state = {"open": "opened"}.get(pr["state"], pr["state"])
                return 200, {
                    "iid": int(parts[-1]),
                    "state": state,
                    "web_url": "",
                    "merge_commit_sha": merge_sha,
                }
            closed = pr["state"] in ("merged", "closed")
            return 200, {
                "number": int(parts[-1]),
                "state": "closed" if closed else "open",
                "merged": pr["state"] == "merged",
                "html_url": "",
                "merge_commit_sha": merge_sha,
            }
        return 404, {"message": "Not Found"}


@contextmanager
def forge_server(kind: str) -> Iterator[tuple[str, FakeForge]]:
    forge = FakeForge(kind)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, payload = forge.handle(
                self.command, self.path, dict(self.headers), json.loads(raw) if raw else None
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    prefix = {"github": "", "gitlab": "/api/v4", "gitea": "/api/v1"}[kind]
    try:
        yield f"http://127.0.0.1:{server.server_port}{prefix}", forge
    finally:
        server.shutdown()
        server.server_close()


def remote_head(bare: Path, ref: str = "refs/heads/main") -> str:
    out = subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "--verify", "-q", ref],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


def move_remote(bare: Path, tmp: Path, text: str = "moved\n", name: str = "OTHER.txt") -> str:
    """Someone else pushes to main: a clone, a commit, a push. Returns the new head."""
    clone = tmp / f"other-{time.monotonic_ns()}"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    (clone / name).write_text(text)
    factories.git(clone, "-c", "user.name=O", "-c", "user.email=o@x.invalid", "add", "-A")
    factories.git(
        clone, "-c", "user.name=O", "-c", "user.email=o@x.invalid", "commit", "-qm", "other"
    )
    factories.git(clone, "push", "-q", "origin", "main")
    return remote_head(bare)


def merge_on_forge(bare: Path, tmp: Path, branch: str) -> str:
    """The forge merges `branch` into main with a merge commit, as its merge button does.
    Returns the merge commit."""
    clone = tmp / f"merger-{time.monotonic_ns()}"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    who = ("-c", "user.name=Forge", "-c", "user.email=forge@x.invalid")
    factories.git(clone, *who, "merge", "-q", "--no-ff", "-m", "Merge", f"origin/{branch}")
    factories.git(clone, "push", "-q", "origin", "main")
    return remote_head(bare)
