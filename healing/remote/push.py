"""git push from the mirror with a compare-and-swap on the remote ref."""

from __future__ import annotations

import subprocess
from typing import Any

from . import credentials
from .mirror import RemoteError, mirror_path, mirror_root

ZERO = "0" * 40
MOVED = ("stale info", "fetch first", "non-fast-forward", "already exists", "but expected")


class RemoteMoved(Exception):
    """The remote ref is not where we expected: someone else pushed first."""


def push(workspace: Any, commit: str, ref: str, expect: str) -> None:
    """Set `ref` on the remote to `commit` only if it is at `expect` ("" = must not exist)."""
    lease = f"--force-with-lease={ref}:{expect}"
    with credentials.git_env(workspace) as env:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(mirror_path(workspace)),
                "push",
                "--porcelain",
                "--atomic",
                lease,
                workspace.remote_url,
                f"{commit}:{ref}",
            ],
            capture_output=True,
            timeout=600,
            check=False,
            env=env,
        )
    if out.returncode == 0:
        return
    text = credentials.scrub((out.stdout + out.stderr).decode(errors="replace").strip(), workspace)
    # A lease seen stale by our side, or by the server when another push won the race there
    # ("cannot lock ref …: is at X but expected Y").
    if any(word in text for word in MOVED):
        raise RemoteMoved(f"{ref} on the remote moved: {text[-500:]}")
    raise RemoteError(f"git push: {text[-1500:]}")


def remote_ref(workspace: Any, ref: str, timeout: int = 120) -> str:
    """The remote's current value of `ref` ("" when absent), asked over the wire. Needs no mirror:
    the worker that recovers a push may never have fetched this remote."""
    root = mirror_root()
    root.mkdir(parents=True, exist_ok=True)
    with credentials.git_env(workspace) as env:
        try:
            out = subprocess.run(
                ["git", "ls-remote", workspace.remote_url, ref],
                capture_output=True,
                timeout=timeout,
                check=False,
                env=env,
                cwd=str(root),  # not a repository: nothing local is read
            )
        except subprocess.TimeoutExpired:
            raise RemoteError(f"git ls-remote: no answer within {timeout} s") from None
    if out.returncode != 0:
        message = credentials.scrub(out.stderr.decode(errors="replace").strip(), workspace)
        raise RemoteError(f"git ls-remote: {message[:1000]}")
    for line in out.stdout.decode().splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return ""
