"""Each worker's own bare mirror of a remote workspace, under its var dir: var/mirrors/<id>/.

Validation, the cached checkouts and the commit a landing builds all read the mirror; nothing
here assumes another host's disk. A flock serialises fetches of one mirror on one host."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from django.conf import settings

from . import credentials

log = logging.getLogger(__name__)


class RemoteError(Exception):
    """git could not talk to the remote; the message is scrubbed of credentials."""

    @property
    def is_permanent(self) -> bool:
        """The remote answered and said no (no such repository, credentials refused): trying
        again will not help. Anything else (refused connection, timeout, a 5xx) may pass."""
        text = str(self).lower()
        return any(words in text for words in PERMANENT)


# What git prints when the remote answered and refused, over git://, ssh and https.
PERMANENT = (
    "repository not found",
    "not exported",  # git daemon: "access denied or repository not exported"
    "does not appear to be a git repository",
    "authentication failed",
    "permission denied",
    "could not read username",
    "could not read password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "the requested url returned error: 404",
    "the remote has no branch",
)


def mirror_root() -> Path:
    return Path(getattr(settings, "SELFHEAL_MIRRORS", None) or settings.VAR_DIR / "mirrors")


def mirror_path(workspace: Any) -> Path:
    return mirror_root() / str(workspace.pk)


def run(workspace: Any, *args: str, remote: bool = False, timeout: int = 600) -> str:
    """git in the mirror. With `remote`, with the credentials in the environment only."""
    with credentials.git_env(workspace) if remote else nullcontext(dict(os.environ)) as env:
        out = subprocess.run(
            ["git", "-C", str(mirror_path(workspace)), *args],
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    if out.returncode != 0:
        message = credentials.scrub(out.stderr.decode(errors="replace").strip(), workspace)
        raise RemoteError(f"git {args[0]}: {message[:1500]}")
    return out.stdout.decode(errors="replace")


@contextmanager
def locked(workspace: Any) -> Iterator[Path]:
    root = mirror_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{workspace.pk}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield mirror_path(workspace)


def _ensure(workspace: Any) -> None:
    path = mirror_path(workspace)
    if (path / "HEAD").is_file():
        return
    staging = path.with_name(f".staging-{workspace.pk}-{uuid.uuid4().hex[:8]}")
    subprocess.run(["git", "init", "--bare", "--quiet", str(staging)], check=True, timeout=60)
    shutil.rmtree(path, ignore_errors=True)
    staging.rename(path)


def refresh(workspace: Any) -> str:
    """Fetch the remote's branches into the mirror; return the branch's commit there."""
    with locked(workspace):
        _ensure(workspace)
        run(
            workspace,
            "fetch",
            "--prune",
            "--no-tags",
            "--quiet",
            workspace.remote_url,
            "+refs/heads/*:refs/heads/*",
            remote=True,
        )
        branch = f"refs/heads/{workspace.branch}"
        run(workspace, "symbolic-ref", "HEAD", branch)
        try:
            return run(
                workspace, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}"
            ).strip()
        except RemoteError:
            raise RemoteError(f"the remote has no branch {workspace.branch}") from None


def refresh_if_remote(workspace: Any) -> None:
    """Before validation. A remote that cannot be reached leaves the last fetch in use (the apply
    fetches again and sends a stale patch back); with no fetch at all, the error stands."""
    if not workspace.remote_url:
        return
    try:
        refresh(workspace)
    except RemoteError as exc:
        try:
            run(workspace, "rev-parse", "--verify", "--quiet", f"refs/heads/{workspace.branch}")
        except RemoteError:
            raise exc from None
        log.warning("fetch of %s failed, validating on the last fetch: %s", workspace.name, exc)
