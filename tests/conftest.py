"""Personas and shared fixtures, seen by the tests of every folder below. Everything here is real:
database, Redis, git, subprocesses."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from healing.models import Workspace
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Cached answers (anonymous /healthz, login throttle counts) never carry over between tests.
    The shared cache's keys only: a flush would also empty the broker's queues and the channel
    layer, which live in the same Redis."""
    from django.core.cache import caches

    caches["local"].clear()
    shared = caches["default"]
    client = shared._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{shared.key_prefix}:*"))
    if keys:
        client.delete(*keys)
    yield


# Personas: one real account per role, each a plain Django `User` in its role's Group. Tests
# that need two distinct people of one role take both fixtures of that role.


@pytest.fixture
def engine_a(db: None) -> User:
    """An agent account (an engine submitting patches with its API key)."""
    return factories.make_user("agent-7", role="agent")


@pytest.fixture
def engine_b(db: None) -> User:
    """A second agent account, with a telemetry source and breaker of its own."""
    return factories.make_user("agent-8", role="agent")


@pytest.fixture
def agent(engine_a: User) -> User:
    """Engine A, under the name most tests know it by."""
    return engine_a


@pytest.fixture
def reviewer(db: None) -> User:
    return factories.make_user("rita-reviewer", role="reviewer")


@pytest.fixture
def second_reviewer(db: None) -> User:
    return factories.make_user("rob-reviewer", role="reviewer")


@pytest.fixture
def operator(db: None) -> User:
    return factories.make_user("olga-operator", role="operator")


@pytest.fixture
def admin_user(db: None) -> User:
    return factories.make_user("ada-admin", role="admin")


@pytest.fixture
def outsider(db: None) -> User:
    """Logged in, but holds no role."""
    return factories.make_user("otto-outsider")


ApiAs = Callable[[User | None], APIClient]


def _api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {factories.token_for(user)}")
    return client


@pytest.fixture
def api_as() -> ApiAs:
    """api_as(user) → an APIClient authenticated with the user's token (None: anonymous)."""
    return _api


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    return factories.make_git_repo(tmp_path / "repo")


@pytest.fixture
def private_redis() -> Iterator[Path]:
    """A socket path for a private embedded redis-server (tests that kill and restart Redis)."""
    import shutil
    import tempfile

    # A short path: unix socket paths are limited to about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="shr-"))
    yield folder / "redis.sock"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def workspace(db: None, git_repo: Path) -> Workspace:
    return factories.make_workspace(git_repo, name="demo")


def _database_url_for_tests() -> str:
    """The URL of the test database pytest-django created, for real worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _worker_name() -> str:
    import os
    import socket

    return f"test-{os.getpid()}@{socket.gethostname()}"


@pytest.fixture(scope="session")
def celery_worker_session(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the real broker, against the test database, started once.
    It starts consuming only a queue nobody sends to: the tests that want it take
    `celery_worker_process`, which has it consume the real queues for that test alone."""
    import os
    import sys
    import tempfile
    import time

    from selfheal_site.celery import app
    from selfheal_site.celery_queues import worker_queues_arg

    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    # Its output goes to a file: a pipe nobody reads fills up and blocks the worker mid-task (and,
    # on SQLite, with the database's write lock held).
    log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the whole session, closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "selfheal_site",
            "worker",
            "-l",
            "warning",
            "--pool",
            "solo",
            "-n",
            f"test-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
            *worker_queues_arg(f"selfheal-test-idle-{os.getpid()}"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"Celery worker exited early:\n{output}")
        if app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        raise RuntimeError("Celery worker did not answer a ping within 60 s")
    yield process
    from tests.services_helpers import stop

    stop(process)
    log.close()


def _queue_lengths() -> dict[str, int]:
    from kombu.exceptions import ChannelError

    from selfheal_site.celery import app
    from selfheal_site.celery_queues import QUEUES

    lengths = {}
    with app.connection_for_read() as connection:
        for queue in QUEUES:
            try:
                lengths[queue] = connection.default_channel.queue_declare(
                    queue=queue, passive=True
                ).message_count
            except ChannelError:  # the Redis transport has no such list: nothing queued
                lengths[queue] = 0
    return lengths


def _worker_busy() -> str:
    """What the worker still has to do ("" when idle). A worker with the solo pool answers no
    control message while it runs a task, so no answer counts as busy."""
    from selfheal_site.celery import app

    name = _worker_name()
    inspect = app.control.inspect(destination=[name], timeout=1.0)
    for what in ("active", "reserved", "scheduled"):
        reply = getattr(inspect, what)()
        if not reply or name not in reply:
            return f"no answer to inspect {what} (running a task)"
        if reply[name]:
            return f"{what}: {[task.get('name', task) for task in reply[name]]}"
    queued = {queue: n for queue, n in _queue_lengths().items() if n}
    return f"queued: {queued}" if queued else ""


def _set_consuming(consume: bool, timeout: float = 60) -> None:
    """Have the session's worker consume the real queues (or stop), waiting for its answer."""
    import time

    from selfheal_site.celery import app
    from selfheal_site.celery_queues import QUEUES

    control = app.control.add_consumer if consume else app.control.cancel_consumer
    deadline = time.monotonic() + timeout
    pending = list(QUEUES)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test worker did not answer for queues {pending}")
        replies = control(pending[0], destination=[_worker_name()], reply=True, timeout=2.0)
        if replies:
            pending.pop(0)


@pytest.fixture
def celery_worker_process(
    db: None, celery_worker_session: subprocess.Popen[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """The session's real worker, consuming the real patch and background queues during this
    test only.

    Other tests send real tasks too (on commit, by name); had the long-lived worker consumed them
    it would run them against the database while that test rolls back or flushes (a deadlock in
    the flush on PostgreSQL). So: what earlier tests left queued is purged, the worker consumes
    for this test, and at its end the worker must have finished everything this test caused
    before it stops consuming and before the database is flushed (this fixture needs `db`, so it
    is torn down first)."""
    import time

    from selfheal_site.celery import app
    from selfheal_site.celery_queues import QUEUES

    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)
    _set_consuming(True)
    yield celery_worker_session
    deadline = time.monotonic() + 120
    busy, idle_checks = "", 0
    while idle_checks < 2:  # twice in a row: a task that just ended may have queued another
        if time.monotonic() > deadline:
            _set_consuming(False)
            raise RuntimeError(f"the test worker was still busy 120 s after the test: {busy}")
        busy = _worker_busy()
        idle_checks = 0 if busy else idle_checks + 1
        time.sleep(0.1)
    _set_consuming(False)


@pytest.fixture
def celery_beat_process(
    celery_worker_process: subprocess.Popen[bytes], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Celery beat, as `make run` starts it, sending the beat schedule to the real worker (the
    unblock sweep every few seconds)."""
    import os
    import sys

    from tests.services_helpers import stop

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "selfheal_site", "beat", "-l", "warning",
         "--schedule", str(tmp_path / "celerybeat-schedule"), "--pidfile", ""],
        env=dict(os.environ, DATABASE_URL=_database_url_for_tests()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    yield process
    stop(process)
