"""Credentials by reference: `ENV_NAME` or `file:/absolute/path` (a token, `user:token`, or an SSH
private key). Read only when git or a forge call needs them; handed to git through environment
variables (GIT_CONFIG_* for an HTTP header, GIT_SSH_COMMAND for a key), never its argv or a URL,
and scrubbed from anything we surface."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SAFE_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")
SCHEMES = {"https", "http", "ssh", "git", "file"}
SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$")


class CredentialsMissing(Exception):
    pass


def check_remote_url(value: str) -> None:
    if SCP_LIKE.match(value):  # git@host:owner/name.git
        return
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES:
        raise ValidationError(f"{value!r}: not a git URL (https, ssh, git or file).")
    if parts.password is not None or (parts.username and parts.scheme in {"http", "https"}):
        raise ValidationError(
            "The URL carries credentials; name an environment variable or file with credentials_env."
        )
    if parts.scheme != "file" and not parts.hostname:
        raise ValidationError(f"{value!r}: no host.")


def check_reference(value: str) -> None:
    if value.startswith("file:"):
        # It ends up in GIT_SSH_COMMAND, which a shell reads: plain path characters only.
        if not Path(value[5:]).is_absolute() or not SAFE_PATH.match(value[5:]):
            raise ValidationError("file: needs an absolute path of letters, digits and ./_-.")
        return
    if not ENV_NAME.match(value):
        raise ValidationError("Name an environment variable (NAME) or a file (file:/path).")


@dataclass(frozen=True)
class Secret:
    value: str
    key_file: str = ""  # an SSH private key on disk

    @property
    def is_ssh_key(self) -> bool:
        return bool(self.key_file)


def resolve(workspace: Any) -> Secret | None:
    ref = workspace.credentials_env
    if not ref:
        return None
    if ref.startswith("file:"):
        path = ref[5:]
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise CredentialsMissing(
                f"the credentials file {path} cannot be read ({exc.strerror})"
            ) from None
        if "PRIVATE KEY-----" in text:
            return Secret(value="", key_file=path)
        return Secret(value=text.strip())
    value = os.environ.get(ref, "")
    if not value:
        raise CredentialsMissing(f"the environment variable {ref} is not set on this worker")
    return Secret(value=value.strip())


def _basic(workspace: Any, token: str) -> str:
    user, sep, password = token.partition(":")
    if not sep:
        user, password = ("oauth2" if workspace.forge == "gitlab" else "x-access-token"), token
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def git_env(workspace: Any) -> dict[str, str]:
    """Environment for a git command that talks to the remote. Never prompts."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}
    secret = resolve(workspace)
    if secret is None:
        return env
    if secret.is_ssh_key:
        env["GIT_SSH_COMMAND"] = (
            f"ssh -i '{secret.key_file}' -o IdentitiesOnly=yes -o BatchMode=yes"
            " -o StrictHostKeyChecking=accept-new"
        )
        return env
    # GIT_CONFIG_* (git >= 2.31) keep the header out of argv, where `ps` would show it.
    env.update(
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="http.extraHeader",
        GIT_CONFIG_VALUE_0=f"Authorization: Basic {_basic(workspace, secret.value)}",
    )
    return env


def secrets_of(workspace: Any) -> list[str]:
    try:
        secret = resolve(workspace)
    except CredentialsMissing:
        return []
    if secret is None or not secret.value:
        return []
    out = [secret.value, _basic(workspace, secret.value)]
    _, sep, password = secret.value.partition(":")
    if sep and password:
        out.append(password)
    return [s for s in out if len(s) >= 4]


def scrub(text: str, workspace: Any) -> str:
    for secret in sorted(secrets_of(workspace), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
