"""Services failing: the broker (Redis) dies under a running server and comes back.

The machine's shared Redis is never touched: this test starts a private embedded redis-server
(selfheal_site/embedded_redis.py) on a socket of its own, and a real server (daphne) and a real
Celery worker pointed at it, against the test database. Then it kills redis-server with SIGKILL:
/healthz must answer 503 naming the broker; it restarts redis-server on the same socket: /healthz
must come back to 200 by itself (the worker reconnects), and a task sent after the restart is
done by the same worker. Prints how long each step took."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from selfheal_site import embedded_redis
from selfheal_site.celery_queues import PATCH_QUEUE
from tests import factories
from tests.conftest import _database_url_for_tests
from tests.intake_helpers import FIX_DIFF
from tests.services_helpers import free_port, start_server_and_worker, stop, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_reports_the_broker_down_and_recovers_by_itself(
    private_redis: Path, workspace: Any
) -> None:
    redis_process = embedded_redis.start(private_redis)
    env = dict(
        os.environ,
        DATABASE_URL=_database_url_for_tests(),
        REDIS_URL=f"unix://{private_redis}",
        SELFHEAL_REDIS_SOCKET=str(private_redis),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    port = free_port()
    children = start_server_and_worker(env, port, "failing")
    try:
        status, body, took = wait_for(port, 200, 90)
        assert status == 200, body
        print(f"\nhealthy after start-up: {took:.1f} s")

        redis_process.kill()  # SIGKILL: no clean shutdown, as when the service dies
        redis_process.wait()
        status, body, took = wait_for(port, 503, 30)
        assert status == 503, (status, body)
        assert "broker" in body["down"], body
        assert not body["components"]["broker"]["ok"]
        assert body["components"]["database"]["ok"], body
        print(f"broker killed: /healthz 503 naming {body['down']} after {took:.1f} s")

        private_redis.unlink(missing_ok=True)
        redis_process = embedded_redis.start(private_redis)
        status, body, took = wait_for(port, 200, 90)
        assert status == 200, body
        print(f"broker restarted: /healthz 200 again after {took:.1f} s (worker reconnected)")

        # Work resumes: a task sent now is picked up by the same (reconnected) worker.
        from celery import Celery

        mod = factories.make_modification(workspace, diff=FIX_DIFF, patch_id="after-restart")
        # set_as_current=False: a new Celery app otherwise becomes the current app, and every
        # shared task in this process (for the tests that run after this one) would follow it.
        client = Celery(broker=f"redis+socket://{private_redis}", set_as_current=False)
        # A bare client knows no routes: name the queue the patch worker consumes.
        client.send_task("healing.process_modification", args=[mod.pk], queue=PATCH_QUEUE)
        client.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            mod.refresh_from_db()
            if mod.status not in {"received", "validating"}:
                break
            time.sleep(0.2)
        assert mod.status not in {"received", "validating"}, mod.status
        print(f"work resumed: the patch sent after the restart went on to {mod.status}")
    finally:
        for child in children:
            stop(child)
        embedded_redis.stop(redis_process)
