"""Services failing under load: patches keep arriving while Redis, then PostgreSQL, die and return.

Real parts only, as in tests/system/test_services_failing.py (whose helpers this reuses): a private
embedded redis-server, daphne and a Celery worker as subprocesses. The machine's shared Redis and
PostgreSQL are never touched: the PostgreSQL test runs its own throwaway cluster (initdb) on a
free port. Each test prints how long each step took and how many patches went through."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.models import AuditEvent, Modification
from selfheal_site import embedded_redis
from tests import factories
from tests.conftest import _database_url_for_tests
from tests.intake_helpers import envelope
from tests.services_helpers import (
    CHROMIUM,
    ROOT,
    chromium,
    free_port,
    start_server_and_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WAITING = {"received", "validating"}
SCREENSHOTS = ROOT / "var" / "screenshots"


@contextmanager
def _browser() -> Iterator[Any]:
    """Headless Debian Chromium, or None where it is not installed. No ORM inside: Playwright runs
    an event loop in this thread."""
    if not Path(CHROMIUM).exists():
        yield None
        return
    with chromium() as browser:
        yield browser


def _request(
    url: str, *, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 20
) -> tuple[int, bytes, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def _post_patch(port: int, token: str, patch_id: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    status, raw, _ = _request(
        f"http://127.0.0.1:{port}/api/v1/patches/",
        body=envelope(patch_id=patch_id),
        headers={"Authorization": f"Token {token}"},
    )
    took = time.monotonic() - started
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = {"raw": raw[:200].decode(errors="replace")}
    return status, payload, took


def _redis_env(socket_path: Path, database_url: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=f"unix://{socket_path}",
        SELFHEAL_REDIS_SOCKET=str(socket_path),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


def test_it_accepts_patches_while_the_broker_is_down_and_processes_each_once(
    private_redis: Path, workspace: Any, agent: Any, admin_user: Any
) -> None:
    # Short, so that the sweep at the worker's reconnect finds the patches of the outage stalled.
    do_change_setting(admin_user, "queue.requeue_after_seconds", 1, "test: broker outage")
    token = factories.token_for(agent)
    redis_process = embedded_redis.start(private_redis)
    port = free_port()
    children = start_server_and_worker(
        _redis_env(private_redis, _database_url_for_tests()), port, "broker-load"
    )
    try:
        status, body, took = wait_for(port, 200, 90)
        assert status == 200, body

        redis_process.kill()  # SIGKILL, as when the service dies
        redis_process.wait()
        status, body, to_503 = wait_for(port, 503, 30)
        assert status == 503 and "broker" in body["down"], (status, body)

        answers = [_post_patch(port, token, f"broker-down-{i}") for i in range(6)]
        for status, payload, _ in answers:
            assert status == 201, payload
            assert payload["status"] == "received", payload
        status, body, _ = wait_for(port, 503, 5)
        assert status == 503 and "broker" in body["down"], (status, body)
        ids = [payload["id"] for _, payload, _ in answers]
        assert Modification.objects.filter(pk__in=ids, status="received").count() == len(ids)

        with _browser() as browser:
            page = browser.new_page() if browser is not None else None
            if page is not None:  # the banner on screen, in a real browser, on a public page
                page.goto(f"http://127.0.0.1:{port}/login/")
                banner = page.locator("#service-banner")
                banner.wait_for(state="visible", timeout=20_000)
                banner_text = banner.inner_text()
                assert "Service down: broker (Redis)" in banner_text, banner_text
                assert "new patches are accepted" in banner_text, banner_text
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "service-banner-broker-down.png"))
            private_redis.unlink(missing_ok=True)
            redis_process = embedded_redis.start(private_redis)
            status, body, to_200 = wait_for(port, 200, 90)
            assert status == 200, body
            if page is not None:
                page.evaluate("window.selfhealService.check()")  # not waiting out the 15 s poll
                page.locator("#service-banner").wait_for(state="hidden", timeout=20_000)
                print(f"\nbanner while Redis was down: {banner_text!r}; hidden once it was back")
            else:
                print("\nbanner not checked in a browser: Debian's chromium is not installed")

        started = time.monotonic()
        while time.monotonic() < started + 120:
            if not Modification.objects.filter(pk__in=ids, status__in=WAITING).exists():
                break
            time.sleep(0.5)
        to_processed = time.monotonic() - started
        left = dict(Modification.objects.filter(pk__in=ids).values_list("patch_id", "status"))
        assert not set(left.values()) & WAITING, left
        _assert_validated_once(ids)
        rejected = AuditEvent.objects.filter(
            modification_id__in=ids, kind="modification.transition", to_state="rejected"
        ).values_list("reason", flat=True)
        print(
            f"\nbroker killed: /healthz 503 after {to_503:.1f} s; {len(ids)} patches posted while "
            f"it was down, each 201 in at most {max(t for *_, t in answers):.2f} s; "
            f"restarted: /healthz 200 after {to_200:.1f} s; all processed {to_processed:.1f} s "
            f"later, each validated exactly once: {sorted(set(left.values()))} "
            f"(rejected because: {sorted(set(rejected))})"
        )
    finally:
        for child in children:
            stop(child)
        embedded_redis.stop(redis_process)


def _assert_validated_once(ids: list[int]) -> None:
    claims = {
        pk: AuditEvent.objects.for_modification(pk)
        .filter(kind="modification.transition", from_state="received", to_state="validating")
        .count()
        for pk in ids
    }
    assert set(claims.values()) == {1}, claims


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A throwaway cluster owned by the postgres OS user (postgres refuses to run as root)."""

    bindir: Path
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def init(self) -> None:
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(
                str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                "--no-sync", "--no-instructions",
            ),
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self.process = subprocess.Popen(
            self._as_postgres(
                str(self.bindir / "postgres"), "-D", str(self.folder / "data"), "-p",
                str(self.port), "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "full_page_writes=off",
            ),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("the private PostgreSQL did not start within 30 s")

    def stop_immediately(self) -> None:
        # -m immediate: no shutdown checkpoint, every connection cut, as when the server dies.
        subprocess.run(
            self._as_postgres(
                str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "stop", "-m",
                "immediate", "-w",
            ),
            check=True, capture_output=True,
        )  # fmt: skip
        if self.process is not None:
            self.process.wait(timeout=30)

    def url(self, db: str = "selfheal") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"


def _bindir() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    return Path(found[-1]).parent


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="shpg-"))
    cluster = PrivatePostgres(_bindir(), folder, free_port())
    cluster.init()
    cluster.start()
    subprocess.run(
        [str(cluster.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
         "postgres", "selfheal"],
        check=True, capture_output=True,
    )  # fmt: skip
    yield cluster
    if cluster.process is not None and cluster.process.poll() is None:
        cluster.stop_immediately()
    shutil.rmtree(folder, ignore_errors=True)


SETUP = """
import json
from pathlib import Path
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from healing.actions import do_change_setting
from tests import factories
agent = factories.make_user("agent-pg", role="agent")
reviewer = factories.make_user("rita-pg", role="reviewer")
admin = factories.make_user("ada-pg", role="admin")
factories.make_workspace(factories.make_git_repo(Path(__REPO__)), name="demo")
do_change_setting(admin, "queue.requeue_after_seconds", 2, "test: database outage")
# Every patch stops at awaiting_approval: no apply, so no patch goes back to validation.
do_change_setting(admin, "safety.require_approval", True, "test: database outage")
session = SessionStore()
session[SESSION_KEY] = str(reviewer.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = reviewer.get_session_auth_hash()
session.create()
print(json.dumps({"token": factories.token_for(agent), "session": session.session_key}))
"""


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@dataclass
class Load:
    """A thread posting a patch every 0.4 s or so and keeping every answer."""

    port: int
    token: str
    answers: list[tuple[str, int, dict[str, Any], float, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            patch_id = f"pg-load-{n:03d}"
            at = time.monotonic()
            try:
                status, payload, took = _post_patch(self.port, self.token, patch_id)
            except OSError as exc:  # the server itself never goes away here: record it
                status, payload, took = 0, {"error": repr(exc)}, time.monotonic() - at
            self.answers.append((patch_id, status, payload, took, at))
            time.sleep(0.4)

    def accepted(self) -> list[str]:
        return [patch_id for patch_id, status, *_ in self.answers if status == 201]


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


def test_it_answers_503_while_postgresql_is_down_and_loses_nothing(
    private_postgres: PrivatePostgres, private_redis: Path, tmp_path: Path
) -> None:
    env = _redis_env(private_redis, private_postgres.url())
    _manage(env, "migrate", "--noinput", "-v", "0")
    setup = SETUP.replace("__REPO__", repr(str(tmp_path / "repo")))
    ids = json.loads(_manage(env, "shell", "-c", setup).strip().splitlines()[-1])
    redis_process = embedded_redis.start(private_redis)
    port = free_port()
    children = start_server_and_worker(env, port, "pg-load")
    load = Load(port, ids["token"])
    thread = threading.Thread(target=load.run, daemon=True)
    try:
        status, body, _ = wait_for(port, 200, 90)
        assert status == 200, body
        thread.start()
        deadline = time.monotonic() + 60
        while len(load.accepted()) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(load.accepted()) >= 5, load.answers

        in_flight = _pg_rows(
            private_postgres.url(),
            "select count(*) from healing_modification where status in ('received', 'validating')",
        )[0][0]
        stopped_at = time.monotonic()
        private_postgres.stop_immediately()
        status, body, to_503 = wait_for(port, 503, 30)
        assert status == 503, (status, body)
        assert "database" in body["down"] and body["components"]["database"]["ok"] is False
        time.sleep(3)  # the load keeps posting into the outage
        page_status, page, page_type = _request(
            f"http://127.0.0.1:{port}/", headers={"Cookie": f"sessionid={ids['session']}"}
        )
        assert page_status == 503 and page_type.startswith("text/html"), page[:500]
        assert b"The database is unreachable" in page
        anonymous_status, _, _ = _request(f"http://127.0.0.1:{port}/")  # urllib follows to /login/
        assert anonymous_status in (200, 503), anonymous_status

        outage = time.monotonic() - stopped_at
        restarted_at = time.monotonic()
        private_postgres.start()  # same data directory, same port
        status, body, to_200 = wait_for(port, 200, 60)
        to_200 = time.monotonic() - restarted_at
        assert status == 200, body
        accepted_before_restart = len(load.accepted())
        deadline = time.monotonic() + 30
        while len(load.accepted()) < accepted_before_restart + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        load.stop.set()
        thread.join(timeout=30)

        during = [a for a in load.answers if stopped_at <= a[4] < restarted_at]
        assert during, "no request was made during the outage"
        for patch_id, status, payload, _, _ in during:
            assert status in (201, 503), (patch_id, status, payload)
            if status == 503:
                assert payload == {
                    "error": "service_unavailable",
                    "detail": "The database is unreachable; try again shortly.",
                }, payload
        assert all(status in (201, 503) for _, status, *_ in load.answers), load.answers
        after = [a for a in load.answers if a[4] >= restarted_at + to_200]
        assert after and all(status == 201 for _, status, *_ in after), after

        url = private_postgres.url()
        started = time.monotonic()
        waiting: list[tuple[Any, ...]] = []
        while time.monotonic() < started + 120:
            waiting = _pg_rows(
                url,
                "select patch_id, status from healing_modification "
                "where status in ('received', 'validating')",
            )
            if not waiting:
                break
            time.sleep(1)
        to_processed = time.monotonic() - started
        assert not waiting, waiting
        stored = dict(_pg_rows(url, "select patch_id, id from healing_modification"))
        lost = set(load.accepted()) - set(stored)
        assert not lost, lost
        claims = dict(
            _pg_rows(
                url,
                "select m.patch_id, count(e.id) from healing_modification m "
                "left join healing_auditevent e on e.modification_id = m.id "
                "and e.kind = 'modification.transition' and e.from_state = 'received' "
                "and e.to_state = 'validating' group by m.patch_id",
            )
        )
        assert set(claims.values()) == {1}, claims
        refused = [a for a in load.answers if a[1] == 503]
        taken_over = _pg_rows(
            url, "select count(*) from healing_auditevent where kind = 'modification.reclaimed'"
        )[0][0]
        stored_though_refused = [a[0] for a in refused if a[0] in stored]
        print(
            f"\npostgres stopped (immediate) under load with {in_flight} accepted patches not yet "
            f"validated: /healthz 503 naming the database after "
            f"{to_503:.1f} s; {len(during)} posts during the outage: "
            f"{sum(1 for a in during if a[1] == 201)} accepted, "
            f"{sum(1 for a in during if a[1] == 503)} answered 503 ({len(refused)} in all, "
            "counting those while it came back) "
            f"(slowest {max(a[3] for a in during):.2f} s; stored anyway: {stored_though_refused}); "
            f"outage {outage:.1f} s; restarted: /healthz 200 {to_200:.1f} s after the start "
            f"command; {len(stored)} patches stored, none lost, all processed "
            f"{to_processed:.1f} s later, each validated exactly once ({taken_over} validations "
            f"taken over from a worker the outage interrupted); {len(after)} accepted after the "
            f"restart"
        )
    finally:
        load.stop.set()
        for child in children:
            stop(child)
        embedded_redis.stop(redis_process)
