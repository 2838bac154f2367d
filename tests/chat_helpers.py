"""A chat platform on loopback, in the style of Slack: it receives our chat.postMessage calls
(answering with a ts, as Slack does), sends button clicks back as signed block_actions callbacks
(form-encoded `payload`, X-Slack-Signature v0 HMAC, X-Slack-Request-Timestamp), and receives the
message updates we post to the response_url it handed out."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example shape
BOT_TOKEN = "xoxb-test-token"


class ChatPlatform:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []  # chat.postMessage bodies
        self.auth: list[str] = []
        self.update_auth: list[str] = []  # the Authorization header of each response_url post
        self.updates: dict[str, list[dict[str, Any]]] = {}  # response_url path -> bodies
        self._ts = itertools.count(100)
        self._responses = itertools.count(1)
        self.updated = threading.Event()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path == "/api/chat.postMessage":
                    platform.posted.append(body)
                    platform.auth.append(self.headers.get("Authorization", ""))
                    answer = {"ok": True, "channel": body.get("channel"), "ts": platform.new_ts()}
                else:
                    platform.updates.setdefault(self.path, []).append(body)
                    platform.update_auth.append(self.headers.get("Authorization", ""))
                    platform.updated.set()
                    answer = {"ok": True}
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def new_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    @property
    def post_url(self) -> str:
        return f"{self.base}/api/chat.postMessage"

    def click(
        self,
        target: str,
        message: dict[str, Any],
        action_id: str,
        user_id: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        value: str | None = None,
    ) -> tuple[int, dict[str, Any], str]:
        """A user clicks a button of `message`: the signed callback Slack sends to `target`.
        Returns (status, JSON answer, the response_url handed out)."""
        button = next(
            e
            for b in message.get("blocks", [])
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        )
        response_url = f"{self.base}/actions/response/{next(self._responses)}"
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T1"},
            "team": {"id": "T1"},
            "container": {"type": "message", "message_ts": "1700000000.000100"},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value if value is not None else button["value"],
                    "action_ts": str(time.time()),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = (
            "v0="
            + hmac.new(
                secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
            ).hexdigest()
        )
        request = urllib.request.Request(
            target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}"), response_url
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}"), response_url

    def updates_for(self, response_url: str, wait: float = 5.0) -> list[dict[str, Any]]:
        path = response_url.removeprefix(self.base)
        deadline = time.monotonic() + wait
        while path not in self.updates and time.monotonic() < deadline:
            self.updated.wait(0.1)
            self.updated.clear()
        return self.updates.get(path, [])


@contextmanager
def running_platform() -> Iterator[ChatPlatform]:
    platform = ChatPlatform()
    thread = threading.Thread(target=platform.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        platform.server.shutdown()
        platform.server.server_close()
