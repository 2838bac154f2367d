"""A remote workspace over SSH, against a real sshd on loopback: the key is given by reference
(an environment variable holding it, or a key file), the host key is checked, and the key's text
reaches no row, event, log line, error or sandbox."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core import serializers

from healing.apply.actions import do_apply
from healing.models import AuditEvent, Modification, RemoteLanding, Workspace
from healing.remote.credentials import ssh_dir
from healing.remote.mirror import RemoteError, refresh
from tests import factories
from tests.apply_helpers import FIX, approved_modification, make_repo
from tests.remote_helpers import bare_remote, remote_head
from tests.services_helpers import free_port
from tests.ssh_helpers import keypair, sshd

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(tmp_path: Path, settings: Any) -> Any:
    settings.VAR_DIR = tmp_path / "var"
    settings.SELFHEAL_MIRRORS = tmp_path / "var" / "mirrors"
    settings.SELFHEAL_SSH_KNOWN_HOSTS = ""
    bare = bare_remote(tmp_path / "served", make_repo(tmp_path))
    key, public = keypair(tmp_path / "deploy_key")
    with sshd(tmp_path / "sshd", [public]) as server:
        yield bare, f"{server.url_prefix}{bare}", key, server


def _key_lines(key: Path) -> list[str]:
    return [line for line in key.read_text().splitlines() if "PRIVATE KEY" not in line]


def _everything_we_keep(caplog: Any) -> str:
    rows = [
        *Workspace.objects.all(),
        *AuditEvent.objects.all(),
        *Modification.objects.all(),
        *RemoteLanding.objects.all(),
    ]
    return serializers.serialize("json", rows) + caplog.text


def test_it_pushes_over_ssh_with_a_key_held_in_the_environment(
    served: Any, monkeypatch: Any, caplog: Any, settings: Any
) -> None:
    from healing.sandbox import run_command

    caplog.set_level(logging.DEBUG)
    bare, url, key, server = served
    monkeypatch.setenv("DEPLOY_KEY", key.read_text())
    ws = Workspace.objects.create(
        name="ssh", remote_url=url, credentials_env="DEPLOY_KEY", isolation_level="partial"
    )
    mod = approved_modification(ws)

    do_apply(mod)

    mod.refresh_from_db()
    assert mod.status == "applied", list(AuditEvent.objects.values_list("reason", flat=True))
    assert remote_head(bare) == mod.applied_commit
    assert "Accepted publickey" in server.log.read_text()
    # The host was trusted on first use into this worker's own known_hosts; the key written for
    # each command is gone.
    known = (ssh_dir() / "known_hosts").read_text()
    assert server.host_public_key.split()[1] in known
    assert list((ssh_dir() / "keys").iterdir()) == []
    kept = _everything_we_keep(caplog)
    assert all(line not in kept for line in _key_lines(key))
    # The tests of the workspace look for the key in their environment and in every file they
    # can read of the tree and of the var dir (where the key is written while git runs).
    probe = (
        "import os, pathlib\n"
        f"lines = {_key_lines(key)!r}\n"
        "hits = [k for k, v in os.environ.items() if any(l in v for l in lines)]\n"
        f"for root in ('.', {str(settings.VAR_DIR)!r}):\n"
        "    for p in pathlib.Path(root).rglob('*'):\n"
        "        try:\n"
        "            data = p.read_text(errors='replace') if p.is_file() else ''\n"
        "        except OSError:\n"
        "            continue\n"
        "        hits += [str(p)] if any(l in data for l in lines) else []\n"
        "print('HITS', hits)\n"
    )
    result = run_command(ws, ["python", "-c", probe])
    assert "HITS []" in result.output_tail, result.output_tail


def test_it_refuses_a_wrong_key_plainly_and_without_the_key(
    served: Any, tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    bare, url, _, _ = served
    wrong, _ = keypair(tmp_path / "wrong_key")
    ws = Workspace.objects.create(
        name="ssh", remote_url=url, credentials_env=f"file:{wrong}", isolation_level="partial"
    )
    base = remote_head(bare)
    # Approved against the remote's head by a worker that held the right key.
    mod = factories.make_modification(
        ws, diff=FIX, files=["app.py"], status="approved", base_commit=base, safety_level="SAFE"
    )

    with pytest.raises(RemoteError) as err:
        refresh(ws)
    do_apply(mod)

    assert "Permission denied (publickey)" in str(err.value), str(err.value)
    mod.refresh_from_db()
    assert mod.status == "failed"
    shown = AuditEvent.objects.get(modification=mod, to_state="failed").reason
    assert "Permission denied (publickey)" in shown, shown
    assert remote_head(bare) == base
    kept = _everything_we_keep(caplog) + str(err.value)
    assert all(line not in kept for line in _key_lines(wrong))


def test_it_refuses_a_host_whose_key_is_not_the_one_it_knows(tmp_path: Path, settings: Any) -> None:
    """Trust on first use remembers the host key and refuses another one at the same address
    later; a pinned known_hosts accepts only the key it lists."""
    settings.VAR_DIR = tmp_path / "var"
    settings.SELFHEAL_MIRRORS = tmp_path / "var" / "mirrors"
    settings.SELFHEAL_SSH_KNOWN_HOSTS = ""
    bare = bare_remote(tmp_path / "served", make_repo(tmp_path))
    key, public = keypair(tmp_path / "deploy_key")
    port = free_port()
    with sshd(tmp_path / "first", [public], port=port) as first:
        ws = Workspace.objects.create(
            name="ssh",
            remote_url=f"{first.url_prefix}{bare}",
            credentials_env=f"file:{key}",
            isolation_level="partial",
        )
        assert refresh(ws) == remote_head(bare)

    with sshd(tmp_path / "impostor", [public], port=port) as impostor:
        with pytest.raises(RemoteError) as err:
            refresh(ws)
        assert "Host key verification failed" in str(err.value), str(err.value)

        pinned = tmp_path / "known_hosts"
        settings.SELFHEAL_SSH_KNOWN_HOSTS = str(pinned)
        pinned.write_text(f"[127.0.0.1]:{port} {first.host_public_key}\n")
        with pytest.raises(RemoteError, match="Host key verification failed"):
            refresh(ws)
        pinned.write_text(f"[127.0.0.1]:{port} {impostor.host_public_key}\n")
        assert refresh(ws) == remote_head(bare)
