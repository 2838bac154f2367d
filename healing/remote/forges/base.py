"""One interface for the forges (GitHub REST v3, GitLab v4, Gitea/Forgejo v1), in a registry."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .. import credentials

log = logging.getLogger(__name__)


class ForgeError(Exception):
    """The forge refused or could not be reached; the message is shown on the patch."""


@dataclass(frozen=True)
class PullRequest:
    number: str
    url: str
    state: str = "open"  # open | merged | closed
    # What the base branch got when merged (a merge, squash or rebased commit); "" when the forge
    # does not say (a fast-forward merge: the request's own head).
    merge_commit: str = ""


class ForgeAdapter:
    name: ClassVar[str] = ""
    default_api: ClassVar[str] = ""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self.api = (workspace.forge_api or self.default_api).rstrip("/")

    # -- what each forge implements --
    def auth_headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        raise NotImplementedError

    def get_pull_request(self, number: str) -> PullRequest:
        raise NotImplementedError

    def set_status(self, commit: str, state: str, description: str, target_url: str) -> None:
        """`state`: success | failure | error | pending (mapped to the forge's words)."""
        raise NotImplementedError

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        raise NotImplementedError

    def webhook_event(
        self, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> PullRequest | None:
        raise NotImplementedError

    # -- shared --
    def webhook_secret(self) -> str:
        """This workspace's own secret, by reference (ENV_NAME or file:/path); "" when unset or
        unreadable, and then every webhook is refused. One secret per workspace: a hook signed for
        one repository cannot settle another's requests."""
        ref = self.workspace.webhook_secret_env
        if not ref:
            return ""
        if ref.startswith("file:"):
            try:
                return Path(ref[5:]).read_text().strip()
            except OSError as exc:
                log.warning(
                    "webhook secret file of %s unreadable: %s", self.workspace, exc.strerror
                )
                return ""
        return os.environ.get(ref, "").strip()

    def hmac_sha256(self, body: bytes) -> str:
        return hmac.new(self.webhook_secret().encode(), body, hashlib.sha256).hexdigest()

    def _token(self) -> str:
        secret = credentials.resolve(self.workspace)
        if secret is None or not secret.value:
            raise ForgeError("no API token: set credentials_env to a token")
        _, sep, password = secret.value.partition(":")
        return password if sep else secret.value

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        token = self._token()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.api}{path}", data=data, method=method)  # noqa: S310 - configured https base
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", "selfheal")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for key, value in self.auth_headers(token).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            raise ForgeError(
                credentials.scrub(
                    f"{self.name} {method} {path}: HTTP {exc.code} {detail}", self.workspace
                )
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ForgeError(
                credentials.scrub(f"{self.name} {method} {path}: {reason}", self.workspace)
            ) from None
        return json.loads(raw) if raw.strip() else {}


REGISTRY: dict[str, type[ForgeAdapter]] = {}


def register(cls: type[ForgeAdapter]) -> type[ForgeAdapter]:
    REGISTRY[cls.name] = cls
    return cls
