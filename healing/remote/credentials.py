"""Credentials by reference: `ENV_NAME` or `file:/absolute/path` (a token, `user:token`, or an SSH
private key). Read only when git or a forge call needs them; handed to git through environment
variables (GIT_CONFIG_* for an HTTP header, GIT_SSH_COMMAND for a key), never its argv or a URL,
and scrubbed from anything we surface.

SSH: the key is used with IdentitiesOnly and BatchMode (no agent, no prompt). A key held in an
environment variable is written for the duration of one git command to a 0600 file under
var/ssh/keys/, which no sandbox sees (the var dir is hidden from PARTIAL, FULL binds only /usr and
a few /etc files). Host keys: pinned when SELFHEAL_SSH_KNOWN_HOSTS names a known_hosts file
(StrictHostKeyChecking=yes); otherwise trusted on first use into this worker's own
var/ssh/known_hosts (accept-new): a host key that later changes is refused, never replaced, and
nothing is read from or written to the user's ~/.ssh."""

from __future__ import annotations

import base64
import os
import re
import shlex
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SAFE_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")
SCHEMES = {"https", "http", "ssh", "git", "file"}
# user@host:path; a host never starts with "-" (it would reach ssh as an option).
SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:(?!//).+$")
KEY_MARK = "PRIVATE KEY-----"
# A key file left behind by a worker killed mid-command; no git command lives this long.
STALE_KEY_S = 3600


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
    value: str = ""  # a token or user:token (HTTPS and the forge's API)
    key: str = ""  # an SSH private key's text: never a token, never sent anywhere but to ssh
    key_file: str = ""  # where that key already is on disk (file:), else it is written per use

    @property
    def is_ssh_key(self) -> bool:
        return bool(self.key)


def _key_text(text: str) -> str:
    # An environment variable often holds the key on one line, its newlines written as "\n";
    # ssh wants real ones, and a final one.
    return text.strip().replace("\\n", "\n") + "\n"


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
        if KEY_MARK in text:
            return Secret(key=_key_text(text), key_file=path)
        return Secret(value=text.strip())
    value = os.environ.get(ref, "")
    if not value:
        raise CredentialsMissing(f"the environment variable {ref} is not set on this worker")
    if KEY_MARK in value:
        return Secret(key=_key_text(value))
    return Secret(value=value.strip())


def _basic(workspace: Any, token: str) -> str:
    user, sep, password = token.partition(":")
    if not sep:
        user, password = ("oauth2" if workspace.forge == "gitlab" else "x-access-token"), token
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def ssh_dir() -> Path:
    """This worker's known_hosts and transient key files: under the var dir, hidden from every
    sandbox; 0700."""
    path = Path(settings.VAR_DIR) / "ssh"
    (path / "keys").mkdir(parents=True, exist_ok=True)
    for p in (path, path / "keys"):
        p.chmod(0o700)
    return path


def _host_key_options() -> list[str]:
    pinned = getattr(settings, "SELFHEAL_SSH_KNOWN_HOSTS", "")
    if pinned:
        return ["-o", "StrictHostKeyChecking=yes", "-o", f'UserKnownHostsFile="{pinned}"']
    # Quoted: unquoted, ssh would read a path with a space in it as two files.
    known = ssh_dir() / "known_hosts"
    return ["-o", "StrictHostKeyChecking=accept-new", "-o", f'UserKnownHostsFile="{known}"']


def _ssh_command(identity: str = "") -> str:
    # LogLevel=ERROR: the refusals (a key denied, a host key that changed) without the chatter.
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", *_host_key_options()]
    if identity:
        argv += ["-i", identity, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
    return shlex.join(argv)


@contextmanager
def _key_on_disk(secret: Secret) -> Iterator[str]:
    if secret.key_file:
        yield secret.key_file
        return
    keys = ssh_dir() / "keys"
    now = time.time()
    for old in keys.iterdir():
        try:
            if now - old.stat().st_mtime > STALE_KEY_S:
                old.unlink()
        except OSError:
            pass
    path = keys / uuid.uuid4().hex
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secret.key)
        yield str(path)
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def git_env(workspace: Any) -> Iterator[dict[str, str]]:
    """The whole environment for a git command that talks to the remote, for the duration of
    the `with`. Never prompts; the variable the credentials came from is not passed on."""
    env = {k: v for k, v in os.environ.items() if k != workspace.credentials_env}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false")
    secret = resolve(workspace)
    if secret is not None and secret.is_ssh_key:
        with _key_on_disk(secret) as identity:
            env["GIT_SSH_COMMAND"] = _ssh_command(identity)
            yield env
        return
    env["GIT_SSH_COMMAND"] = _ssh_command()
    if secret is not None:
        # GIT_CONFIG_* (git >= 2.31) keep the header out of argv, where `ps` would show it.
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {_basic(workspace, secret.value)}",
        )
    yield env


def secrets_of(workspace: Any) -> list[str]:
    try:
        secret = resolve(workspace)
    except CredentialsMissing:
        return []
    if secret is None:
        return []
    if secret.is_ssh_key:
        # The whole key and each of its base64 lines: a fragment is as bad as the whole.
        lines = [line.strip() for line in secret.key.splitlines() if KEY_MARK not in line]
        return [s for s in [secret.key.strip(), *lines] if len(s) >= 16]
    if not secret.value:
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
