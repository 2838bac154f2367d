"""Attacks from inside a sandboxed run on the worker, its files, its environment and its host.

Real namespaces, real bubblewrap, real git: each hostile test file is added by a patch and run
by run_tests at the level named."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil
import pytest

from healing.models import SandboxRunKind
from healing.sandbox import run_tests, store_run
from healing.sandbox.scratch import base_tree
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.sandbox_helpers import new_file_diff

needs_bwrap = pytest.mark.skipif(not bubblewrap_works()[0], reason="bubblewrap does not work here")
ALL_LEVELS = [pytest.param("full", marks=needs_bwrap), "partial", "none"]
FILES = {
    "app.py": "def add(a, b):\n    return a + b\n",
    "test_app.py": "from app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def _workspace(tmp_path: Path, level: str) -> Any:
    return factories.make_workspace(
        factories.make_git_repo(tmp_path / "repo", FILES), isolation_level=level
    )


def _outcomes(result: Any) -> dict[str, str]:
    return {t.nodeid: t.outcome for t in result.tests}


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_hides_selfheal_and_the_host_and_runs_unprivileged(
    db: Any, tmp_path: Path, settings: Any, level: str
) -> None:
    ws = _workspace(tmp_path, level)
    host_tmp = Path(tempfile.gettempdir()) / f"host-file-{uuid.uuid4().hex}"
    host_tmp.write_text("the host's /tmp")
    secret_key = Path(settings.VAR_DIR) / "secret_key"
    secret_key.exists() or secret_key.write_text("not-so-secret")
    # The embedded Redis listens on a unix socket; a Redis named by REDIS_URL (CI's PostgreSQL
    # pass) listens on the host's loopback, which the run's own network namespace does not reach.
    redis_socket = os.environ.get("SELFHEAL_REDIS_SOCKET", "")
    redis = urlparse(os.environ.get("REDIS_URL", ""))
    unreachable = [
        str(Path(settings.VAR_DIR) / "secret_key"),
        str(Path(settings.BASE_DIR) / "manage.py"),
        str(Path(settings.BASE_DIR) / "healing"),
        *([redis_socket] if redis_socket else []),
        str(ws.repo_path / ".git"),
        str(ws.repo_path / "app.py"),
        str(host_tmp),
        str(Path.home() / ".bashrc"),
    ]
    not_writable = [
        "/usr/escaped",
        "/etc/escaped",
        str(Path(sys.prefix).resolve() / "escaped"),
        str(Path(settings.VAR_DIR) / "escaped"),
    ]
    test = (
        "import os, pathlib, socket\n\n"
        f"UNREACHABLE = {unreachable!r}\nNOT_WRITABLE = {not_writable!r}\n\n"
        "def test_unreachable():\n"
        "    assert [p for p in UNREACHABLE if os.path.lexists(p)] == []\n\n"
        "def test_redis_socket():\n"
        + (
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n"
            f"        s.connect({redis_socket!r})\n"
            if redis_socket
            else "    s = socket.socket()\n"
            "    s.settimeout(2)\n"
            "    try:\n"
            f"        s.connect(({redis.hostname!r}, {redis.port or 6379}))\n"
        )
        + "    except OSError:\n"
        "        return\n"
        "    raise AssertionError('reached the redis socket')\n\n"
        "def test_not_writable():\n"
        "    written = []\n"
        "    for p in NOT_WRITABLE:\n"
        "        try:\n"
        "            pathlib.Path(p).write_text('x')\n"
        "            written.append(p)\n"
        "        except OSError:\n"
        "            pass\n"
        "    assert written == []\n\n"
        "def test_writable_scratch_and_tmp():\n"
        "    pathlib.Path('litter.txt').write_text('x')\n"
        "    pathlib.Path('/tmp/litter.txt').write_text('x')\n\n"
        "def test_unprivileged():\n"
        "    assert (os.getuid(), os.geteuid()) == (65534, 65534)\n"
        "    status = pathlib.Path('/proc/self/status').read_text()\n"
        "    assert 'CapEff:\\t0000000000000000' in status\n\n"
        "def test_not_told_it_is_watched():\n"
        "    assert [k for k in os.environ if 'SELFHEAL' in k.upper()] == []\n"
    )
    try:
        result = run_tests(ws, diff=new_file_diff("test_escape.py", test))
    finally:
        host_tmp.unlink()
    escaped = [p for p in not_writable if Path(p).exists()]
    for path in escaped:  # an escape is reported, and not left on the host
        Path(path).unlink()
    assert escaped == []
    outcomes = _outcomes(result)
    assert outcomes and set(outcomes.values()) == {"passed"}, (outcomes, result.output_tail)


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_it_gives_the_tests_none_of_the_workers_environment(
    db: Any, tmp_path: Path, monkeypatch: Any, level: str
) -> None:
    secret, canary = f"admin-pw-{uuid.uuid4().hex}", f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("SELFHEAL_ADMIN_PASSWORD", secret)
    monkeypatch.setenv("WORKER_CANARY", canary)
    # Looks for the worker's variables by name everywhere it can, and prints what it finds.
    test = (
        "import os, pathlib\n\n"
        "def test_env():\n"
        "    found = [f'{k}={v}' for k, v in os.environ.items()\n"
        "             if k in ('SELFHEAL_ADMIN_PASSWORD', 'WORKER_CANARY') or 'SELFHEAL' in k]\n"
        "    for p in pathlib.Path('/proc').glob('[0-9]*/environ'):\n"
        "        try:\n"
        "            env = p.read_bytes()\n"
        "        except OSError:\n"
        "            continue\n"
        "        found += [v.decode() for v in env.split(b'\\0')\n"
        "                  if v.startswith((b'SELFHEAL_ADMIN_PASSWORD=', b'WORKER_CANARY='))]\n"
        "    print(found)\n"
        "    assert found == []\n"
    )
    ws = _workspace(tmp_path, level)

    result = run_tests(ws, diff=new_file_diff("test_env.py", test))
    run = store_run(ws, result, kind=SandboxRunKind.PATCHED)

    assert _outcomes(result)["test_env::test_env"] == "passed", result.output_tail
    stored = json.dumps([run.output_tail, run.tests, run.detail, result.as_json()])
    assert secret not in stored and canary not in stored


PR_SET_CHILD_SUBREAPER = 36
HOPPER = (
    "import os, time\nwhile True:\n    if os.fork():\n        os._exit(0)\n    time.sleep(0.02)\n"
)


def _hoppers(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if token in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_it_kills_a_detached_process_that_keeps_changing_its_pid(
    db: Any, tmp_path: Path, level: str
) -> None:
    token = f"hopper-{uuid.uuid4().hex}"
    test = (
        "import os, sys, time\n\n"
        "def test_daemon():\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            os.execv(sys.executable, [sys.executable, '-c', {HOPPER!r}, {token!r}])\n"
        "        os._exit(0)\n"
        "    time.sleep(0.3)\n"
    )
    ws = _workspace(tmp_path, level)
    # Orphans come to this process, as they would to a worker under a supervisor that reaps
    # (and not to a container's init, which may kill them and hide an escape).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        result = run_tests(ws, diff=new_file_diff("test_daemon.py", test))
        time.sleep(1.0)
        left = _hoppers(token)
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (found := _hoppers(token)):
            for proc in found:
                proc.kill()
            time.sleep(0.01)
    assert _outcomes(result)["test_daemon::test_daemon"] == "passed", result.output_tail
    assert left == []


TAMPER = (
    "import pathlib, re\n\n"
    "def test_tamper():\n"
    "    info = pathlib.Path('/proc/self/mountinfo').read_text()\n"
    "    lower = re.search(r'lowerdir=([^,\\s]+)', info).group(1)\n"
    "    pathlib.Path(lower, 'app.py').write_text('def add(a, b):\\n    return 0\\n')\n"
)


def test_it_makes_a_tampered_cached_checkout_again(db: Any, tmp_path: Path) -> None:
    """Under NONE a test can find the cached checkout under its overlay and write to it: the
    next run (the baseline of every later patch) must not see that."""
    ws = _workspace(tmp_path, "none")
    run_tests(ws, diff=new_file_diff("test_tamper.py", TAMPER))

    result = run_tests(ws)

    assert _outcomes(result) == {"test_app::test_add": "passed"}, result.output_tail
    commit = ws.head_commit()
    assert (base_tree(ws.repo_path, commit) / "app.py").read_text() == FILES["app.py"]


def test_it_hides_a_var_dir_reached_through_a_symlink(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    # A deployment's VAR_DIR that is a link (/srv/selfheal -> /opt/...): its target lies outside
    # every hidden directory, so only resolving the link keeps it out of a PARTIAL run.
    real = Path(tempfile.mkdtemp(prefix="selfheal-var-", dir="/var/lib"))
    try:
        (real / "secret_key").write_text("not-so-secret")
        link = tmp_path / "var"
        link.symlink_to(real)
        settings.VAR_DIR = link
        ws = _workspace(tmp_path, "partial")
        test = (
            "import os\n\n"
            "def test_unreachable():\n"
            f"    assert not os.path.lexists({str(real / 'secret_key')!r})\n"
        )
        result = run_tests(ws, diff=new_file_diff("test_escape.py", test))
    finally:
        shutil.rmtree(real)
    outcomes = _outcomes(result)
    assert outcomes and set(outcomes.values()) == {"passed"}, (outcomes, result.output_tail)
