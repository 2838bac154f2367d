"""A real OpenSSH server on loopback for the remote-workspace tests: `sshd -D` on a free
127.0.0.1 port with its own host key, sshd_config and authorized_keys, serving the current
user's git-upload-pack / git-receive-pack (the repository is named by its absolute path)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.remote_helpers import _wait_port
from tests.services_helpers import free_port

SSHD = Path("/usr/sbin/sshd")  # often not on a non-root PATH
# sshd refuses to start without its privilege separation directory (made by the service unit,
# which the tests do not run). Only root may create it, and only root needs it.
PRIVSEP_DIR = Path("/run/sshd")


def keypair(path: Path, comment: str = "selfheal-test") -> tuple[Path, str]:
    """An ed25519 key without passphrase: (private key path, public key line)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    return path, path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    url_prefix: str  # ssh://user@127.0.0.1:PORT
    port: int
    host_public_key: str  # "ssh-ed25519 AAAA…"
    log: Path


def _needs_sshd() -> None:
    if not SSHD.is_file():
        pytest.skip("OpenSSH's server is not installed: apt-get install openssh-server")
    if os.geteuid() == 0:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)


@contextmanager
def sshd(base: Path, authorized: list[str], port: int = 0) -> Iterator[Sshd]:
    """sshd accepting only the `authorized` public keys for the current user."""
    _needs_sshd()
    base.mkdir(parents=True, exist_ok=True)
    host_key, host_public = keypair(base / f"host_key_{os.urandom(4).hex()}", "host")
    (base / "authorized_keys").write_text("".join(f"{k}\n" for k in authorized))
    port = port or free_port()
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                "PidFile none",
                f"AuthorizedKeysFile {base / 'authorized_keys'}",
                "AuthenticationMethods publickey",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                # CI runs the tests as root.
                "PermitRootLogin prohibit-password",
                # pytest's tmp directories are not laid out the way StrictModes wants $HOME.
                "StrictModes no",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PermitTTY no",
                "PrintMotd no",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    log = base / "sshd.log"
    with open(log, "ab") as out:
        # sshd re-executes itself: it needs its absolute path. -D: not a daemon, -e: log to stderr.
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        try:
            _wait_port(port, process)
        except RuntimeError:
            pytest.fail(f"sshd did not start: {log.read_text()[-2000:]}")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True)
        yield Sshd(f"ssh://{user.stdout.strip()}@127.0.0.1:{port}", port, host_public, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
