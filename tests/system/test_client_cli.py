"""selfheal-client (client/) as a CI job runs it: `python -m selfheal_client` in a subprocess, the
package on PYTHONPATH (not installed), against a real Selfheal — daphne in a subprocess and a real
Celery worker on the test database. Each live test checks the exit code of one decision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selfheal_client import SelfhealClient, build_envelope

from healing.intake.envelope import validate_envelope
from healing.models import Modification
from tests import factories
from tests.apply_helpers import FIX, make_repo
from tests.conftest import _database_url_for_tests
from tests.intake_helpers import RM_RF_DIFF
from tests.services_helpers import free_port, start_server, stop, wait_for

CLIENT_SRC = Path(__file__).resolve().parents[2] / "client" / "src"  # pytest's pythonpath too


def selfheal(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a CI job would; `env` adds variables (SELFHEAL_TOKEN, SELFHEAL_URL)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SELFHEAL_TOKEN", "SELFHEAL_URL"}}
    return subprocess.run(
        [sys.executable, "-m", "selfheal_client", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(CLIENT_SRC), **env},
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def server(django_db_setup: Any, celery_worker_session: Any) -> Iterator[str]:
    """daphne serving Selfheal on a free loopback port, against the test database."""
    port = free_port()
    process = start_server(dict(os.environ, DATABASE_URL=_database_url_for_tests()), port)
    try:
        status, body, _ = wait_for(port, None, 60)
        assert status, "daphne did not answer /healthz within 60 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def demo(celery_worker_process: Any, tmp_path: Path, admin_user: Any) -> Any:
    from healing.actions import do_change_setting
    from healing.sandbox_probe import best_isolation_level

    ws = factories.make_workspace(
        make_repo(tmp_path),
        name="demo",
        isolation_level=best_isolation_level()[0],
        test_command="python -m pytest -q -p no:cacheprovider",
    )
    # The post-apply health watch would hold the worker for a minute; the tests still re-run.
    do_change_setting(admin_user, "apply.health_window_s", 0, "client tests: no health watch")
    return ws


@pytest.fixture
def token(db: Any) -> str:
    return factories.token_for(factories.make_user("ci-bot", role="agent"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_applies_a_correct_fix_and_exits_0(server: str, demo: Any, token: str) -> None:
    repo = Path(demo.path)
    head_before = factories.git(repo, "rev-parse", "HEAD").strip()

    # The token and URL come from the environment and the diff from stdin, as in a CI job.
    done = selfheal(
        "submit", "--workspace", "demo", "--wait", "--timeout", "90", "--json",
        "--confidence", "0.97", "--metadata", "job_url=https://ci.example.invalid/jobs/7", "-",
        stdin=FIX, SELFHEAL_TOKEN=token, SELFHEAL_URL=server,
    )  # fmt: skip

    assert done.returncode == 0, (done.stdout, done.stderr)
    answer = json.loads(done.stdout)
    assert answer["status"] == "applied"
    assert answer["safety_level"] in {"SAFE", "LOW_RISK"}
    assert answer["review_url"] == f"{server}/patches/{answer['id']}/"
    assert factories.git(repo, "rev-parse", "HEAD~1").strip() == head_before
    assert answer["applied_commit"] == factories.git(repo, "rev-parse", "HEAD").strip()
    assert answer["reason"].startswith("applied as ")
    assert "return a - b" in (repo / "app.py").read_text()
    mod = Modification.objects.get(pk=answer["id"])
    assert mod.envelope["metadata"]["job_url"] == "https://ci.example.invalid/jobs/7"
    assert mod.envelope["language"] == "python"  # read from the diff's file names
    assert token not in done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_exits_20_on_a_rejected_patch_and_says_why(server: str, demo: Any, token: str) -> None:
    diff = Path(demo.path).parent / "evil.diff"
    diff.write_text(RM_RF_DIFF)

    done = selfheal(
        "submit", "--url", server, "--token", token, "--workspace", "demo", "--wait",
        "--patch-id", "ci-evil-1", str(diff),
    )  # fmt: skip

    assert done.returncode == 20, (done.stdout, done.stderr)
    assert done.stdout.startswith(f"patch {Modification.objects.get().pk} (ci-evil-1): rejected")
    assert "os.system" in done.stdout, done.stdout  # the blocking finding, in plain words
    assert "blocking" in done.stdout
    assert Modification.objects.get().status == "rejected"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_exits_10_for_a_high_risk_patch_and_status_says_the_same(
    server: str, demo: Any, token: str
) -> None:
    # --timeout 0 asks once: a patch whose sandbox has not even started has no decision yet.
    first = selfheal(
        "submit", "--url", server, "--workspace", "demo", "--error-type", "security",
        "--wait", "--timeout", "0", "--json", "-",
        stdin=FIX, SELFHEAL_TOKEN=token,
    )  # fmt: skip
    assert first.returncode == 3, (first.stdout, first.stderr)
    pending = json.loads(first.stdout)
    assert not pending["decided"] and "no decision after 0 s" in first.stderr

    with SelfhealClient(server, token) as client:
        decided = client.wait(pending["id"], timeout=60)
    assert (decided.status, decided.safety_level) == ("awaiting_approval", "HIGH_RISK")

    shown = selfheal("status", str(decided.id), "--url", server, SELFHEAL_TOKEN=token)
    assert shown.returncode == 10, (shown.stdout, shown.stderr)
    assert "awaiting_approval" in shown.stdout
    assert "HIGH_RISK (error_type.security)" in shown.stdout
    assert "always waits for a human" in shown.stdout
    assert f"review: {server}/patches/{decided.id}/" in shown.stdout
    as_json = selfheal(
        "status", str(decided.id), "--json", SELFHEAL_URL=server, SELFHEAL_TOKEN=token
    )
    assert as_json.returncode == 10
    assert json.loads(as_json.stdout)["exit_code"] == 10


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_exits_30_when_an_emergency_stop_blocks_the_patch(
    server: str, demo: Any, token: str, operator: Any
) -> None:
    from healing.actions.emergency_stop import do_emergency_stop

    do_emergency_stop(operator, "client test: deploy freeze")

    done = selfheal(
        "submit", "--workspace", "demo", "--wait", "--timeout", "60", "-",
        stdin=FIX, SELFHEAL_TOKEN=token, SELFHEAL_URL=server,
    )  # fmt: skip

    assert done.returncode == 30, (done.stdout, done.stderr)
    assert ": blocked" in done.stdout
    assert "deploy freeze" in done.stdout


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_exits_2_on_a_bad_token_and_stores_nothing(server: str, demo: Any, token: str) -> None:
    done = selfheal(
        "submit", "--workspace", "demo", "--wait", "-",
        stdin=FIX, SELFHEAL_TOKEN="not-" + token, SELFHEAL_URL=server,
    )  # fmt: skip

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "HTTP 401" in done.stderr and "SELFHEAL_TOKEN" in done.stderr
    assert done.stdout == ""
    assert not Modification.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_prints_the_field_errors_of_a_refused_envelope(
    server: str, demo: Any, token: str
) -> None:
    done = selfheal(
        "submit", "--workspace", "nowhere", "--patch-id=has a space", "-",
        stdin=FIX, SELFHEAL_TOKEN=token, SELFHEAL_URL=server,
    )  # fmt: skip

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "HTTP 400" in done.stderr
    assert "  patch_id: " in done.stderr  # one line per field, no JSON to decode by eye
    assert not Modification.objects.exists()

    done = selfheal(
        "submit", "--workspace", "nowhere", "-",
        stdin=FIX, SELFHEAL_TOKEN=token, SELFHEAL_URL=server,
    )  # fmt: skip
    assert done.returncode == 2
    assert "  workspace: No active workspace named 'nowhere'." in done.stderr


def test_it_exits_2_when_the_server_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    done = selfheal("status", "12", "--url", url, SELFHEAL_TOKEN="t0ken")

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"Cannot reach {url}" in done.stderr


def test_it_exits_2_without_a_token_and_says_where_to_put_it() -> None:
    done = selfheal("submit", "--url", "http://127.0.0.1:9", "--workspace", "demo", "-", stdin=FIX)

    assert done.returncode == 2
    assert "--token or SELFHEAL_TOKEN" in done.stderr


def test_it_builds_an_envelope_the_server_schema_accepts() -> None:
    envelope = build_envelope(
        FIX,
        workspace="demo",
        error_type="runtime",
        message="TypeError in sub()",
        targets=["test_app.py::test_sub"],
        logits=[2.1, 0.4],
        metadata={"job_url": "https://ci.example.invalid/1"},
    )

    assert validate_envelope(envelope) == envelope
    assert envelope["language"] == "python"
    assert envelope["error_classification"]["targets"] == ["test_app.py::test_sub"]
    assert envelope["error_classification"]["error_message"] == "TypeError in sub()"


def test_it_needs_no_django() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, selfheal_client.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'healing', 'rest_framework'}))"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(CLIENT_SRC)},
        check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "[]"
