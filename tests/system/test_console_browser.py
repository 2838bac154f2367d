"""The console in a real browser: Debian's Chromium (headless, launched by path) against a real
ASGI server (daphne in a subprocess) on the test database and the real channel layer."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approvals.models import Approval
from healing.models import EngineState, Modification
from healing.sandbox.scratch import SCRATCH_PREFIX
from tests import factories
from tests.conftest import _database_url_for_tests
from tests.console_helpers import awaiting
from tests.services_helpers import CHROMIUM, chromium, free_port, start_server, stop, wait_listening

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "pw-for-tests-1"
ADD_TEST = "from app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SLOW_TEST = "import time\n\n\ndef test_slow():\n    time.sleep(30)\n"

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """daphne serving selfheal_site.asgi on a free port, against the test database."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    log_path = Path(__file__).resolve().parents[2] / "var" / f"browser-daphne-{os.getpid()}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the server process writes to it until teardown
    process = start_server(env, port, stdout=log)
    wait_listening(process, port, 30, f"daphne (see {log.name})")
    yield f"http://127.0.0.1:{port}"
    stop(process)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped, with the ORM allowed beside Playwright's event loop (the tests call it
    between browser steps)."""
    with chromium(allow_orm=True) as launched:
        yield launched


def _page(browser: Any, base: str, width: int = 1280) -> Any:
    context = browser.new_context(
        base_url=base,
        viewport={"width": width, "height": 900},
        timezone_id="America/New_York",
        locale="en-US",
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def _login(page: Any, username: str, next_path: str = "/") -> None:
    page.goto(f"/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.wait_for_url(lambda url: "/login/" not in url)
    assert page.url.endswith(next_path), page.url


def _wait_live(page: Any) -> None:
    page.wait_for_selector('#live-indicator[data-state="live"]')


def _elsewhere(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a state change in another thread, as a worker or another request would: this thread
    runs Playwright's event loop, where the after-commit broadcast (async_to_sync) cannot run."""
    import threading

    from django.db import connection

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _settled(page: Any) -> None:
    """Let the refresh that follows the socket's hello finish, so what appears next was pushed."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)


def _shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_it_shows_a_critical_patch_live_and_takes_two_people_to_approve_it(
    asgi_server: str, browser: Any, tmp_path: Path, celery_worker_process: Any
) -> None:
    from healing.actions import do_change_setting

    repo = factories.make_git_repo(
        tmp_path / "repo", {"app.py": "def add(a, b):\n    return a + b\n", "test_app.py": ADD_TEST}
    )
    workspace = factories.make_workspace(repo, name="shop")
    # The post-apply health watch would hold the worker for a minute; the tests still re-run.
    do_change_setting(None, "apply.health_window_s", 0, "browser test: no health watch")
    factories.make_user("rita", role="reviewer")
    factories.make_user("rob", role="reviewer")
    awaiting(workspace, "LOW_RISK", patch_id="fix-typo-42", error_type="syntax")
    awaiting(workspace, "MEDIUM_RISK", patch_id="tighten-loop-7", error_type="performance")

    page = _page(browser, asgi_server)
    _login(page, "rita")
    _wait_live(page)
    _settled(page)
    assert page.locator("#panel-queue").get_by_text("CRIT-patch-1").count() == 0

    # The patch arrives while the page is open: pushed over the websocket, no reload.
    with page.expect_response("**/dashboard/panels/"):
        mod = _elsewhere(
            awaiting,
            workspace,
            "CRITICAL",
            patch_id="CRIT-patch-1",
            error_type="security",
            base_commit=workspace.head_commit(),
        )
    page.locator("#panel-queue").get_by_text("CRIT-patch-1").wait_for()
    # Timestamps are in the viewer's local time (the browser rewrote them from UTC).
    assert "UTC" not in page.locator("#activity time").first.inner_text()
    _shoot(page, "dashboard-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(page, "dashboard-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("#panel-queue").get_by_role("link", name="CRIT-patch-1").click()
    page.wait_for_url(f"**/patches/{mod.pk}/")
    _shoot(page, "review-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(page, "review-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.fill("#comment", "Checked the input validation; fine.")
    page.click("#approve-button")
    page.get_by_text("Approval 1 of 2 recorded").wait_for()
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert "You have decided" in page.locator("#cannot-decide").inner_text()
    page.context.close()

    # The second person, at the keyboard only.
    second = _page(browser, asgi_server)
    _login(second, "rob", f"/patches/{mod.pk}/")
    second.focus("#comment")
    second.keyboard.type("Second pair of eyes: agreed.")
    second.keyboard.press("Tab")
    assert second.evaluate("document.activeElement.id") == "approve-button"
    second.keyboard.press("Enter")
    second.get_by_text("CRIT-patch-1 approved.").wait_for()
    assert Modification.objects.get(pk=mod.pk).status in {"approved", "applying", "applied"}
    # The real worker lands it; the page says so without a reload (or on it, if it was that quick).
    second.wait_for_function(
        "() => /applied/i.test(document.getElementById('mod-status').textContent)", timeout=60_000
    )
    assert Modification.objects.get(pk=mod.pk).status == "applied"
    assert "Selfheal-Modification:" in factories.git(repo, "log", "-1", "--format=%B")
    _shoot(second, "review-applied-1280")
    assert sorted(
        Approval.objects.filter(modification=mod).values_list("user__username", flat=True)
    ) == ["rita", "rob"]
    second.context.close()


def test_it_stops_the_engine_and_shows_the_banner_everywhere(
    asgi_server: str, browser: Any, tmp_path: Path
) -> None:
    workspace = factories.make_workspace(tmp_path / "repo", name="shop")
    mod = awaiting(workspace, "HIGH_RISK", patch_id="risky-1")
    factories.make_user("olga", role="operator")
    factories.make_user("rita", role="reviewer")

    watcher = _page(browser, asgi_server)
    _login(watcher, "rita", "/audit/")
    _wait_live(watcher)
    assert watcher.locator("#emergency-banner").is_hidden()

    page = _page(browser, asgi_server)
    _login(page, "olga")
    page.click("#stop-button")
    page.locator("#stop-dialog").wait_for()
    page.click("#stop-confirm")  # refused by the browser: the reason is required
    assert EngineState.objects.current().is_running
    page.fill("#stop-reason", "agent is looping")
    page.click("#stop-confirm")
    page.locator("#emergency-banner").get_by_text("agent is looping").wait_for()
    assert EngineState.objects.current().is_emergency_stopped

    # Live on a page that was already open elsewhere, and on every page loaded afterwards.
    watcher.locator("#emergency-banner").get_by_text("agent is looping").wait_for()
    _shoot(watcher, "audit-stopped-1280")
    for path in ("/", "/audit/", f"/patches/{mod.pk}/", "/engine/resume/"):
        page.goto(path)
        assert "agent is looping" in page.locator("#emergency-banner").inner_text()
        assert "olga" in page.locator("#emergency-banner").inner_text()

    page.goto("/")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(page, "emergency-stop-390")
    page.goto("/engine/resume/")
    page.click("#resume-confirm")
    page.wait_for_url("**/")
    assert page.locator("#emergency-banner").is_hidden()
    assert EngineState.objects.current().is_running
    watcher.locator("#emergency-banner").wait_for(state="hidden")
    watcher.context.close()
    page.context.close()


def test_it_keeps_a_reviewer_out_of_the_thresholds_page(asgi_server: str, browser: Any) -> None:
    factories.make_user("rita", role="reviewer")
    page = _page(browser, asgi_server)
    _login(page, "rita")
    assert page.get_by_role("link", name="Thresholds").count() == 0
    response = page.goto("/thresholds/")
    assert response.status == 403
    assert "needs the admin role" in page.locator("#forbidden-message").inner_text()
    page.context.close()


def test_it_shows_live_sandbox_progress_on_the_review_page(
    asgi_server: str, browser: Any, tmp_path: Path
) -> None:
    from healing.broadcast import send_now, workspace_group

    workspace = factories.make_workspace(tmp_path / "repo", name="shop")
    mod = factories.make_modification(
        workspace, status="sandboxing", patch_id="in-the-box", safety_level="LOW_RISK"
    )
    factories.make_user("rita", role="reviewer")
    page = _page(browser, asgi_server)
    _login(page, "rita", f"/patches/{mod.pk}/")
    _wait_live(page)
    # Functions, not expressions: Playwright evals a bare expression, which the page's CSP forbids.
    page.wait_for_function("() => document.readyState === 'complete'")
    payload = {
        "modification_id": mod.pk,
        "tests_run": 17,
        "failures": 2,
        "elapsed_ms": 30000,
        "limit_ms": 60000,
    }
    # The watch request travels after the socket opens; resend until the page shows it.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        _elsewhere(send_now, workspace_group(workspace.pk), "sandbox.progress", payload)
        if page.locator('#sandbox-progress [data-field="tests_run"]').inner_text() == "17":
            break
        page.wait_for_timeout(300)
    box = page.locator("#sandbox-progress")
    assert box.locator('[data-field="tests_run"]').inner_text() == "17"
    assert box.locator('[data-field="failures"]').inner_text() == "2"
    assert box.locator('[data-field="limit"]').inner_text() == "60 s"
    assert page.evaluate("document.querySelector('#sandbox-progress progress').value") == 50
    page.context.close()


def test_it_lets_an_admin_tune_a_threshold_and_explains_a_bad_value(
    asgi_server: str, browser: Any
) -> None:
    from healing import tunables

    factories.make_user("ada", role="admin")
    page = _page(browser, asgi_server)
    _login(page, "ada", "/thresholds/")
    page.fill("#id_intake_max_body_bytes", "lots")
    page.click("text=Save changes")
    page.locator("#form-errors").get_by_text("is not a valid int").wait_for()
    _shoot(page, "thresholds-error-1280")
    page.fill("#id_intake_max_body_bytes", "2048")
    page.select_option("#id_safety_auto_apply_threshold", "SAFE")
    page.fill("#id_reason", "tighter for the launch")
    page.click("text=Save changes")
    page.get_by_text("Saved 2 change(s).").wait_for()
    assert tunables.get("intake.max_body_bytes") == 2048
    assert tunables.get("safety.auto_apply_threshold") == "SAFE"
    page.click("text=History of changes")
    page.locator("#history").get_by_text("tighter for the launch").first.wait_for()
    page.context.close()


def _sandboxes_of(repo: Path) -> set[Path]:
    """Scratch roots of the sandboxes running this repository's tests, found by their processes
    (other people's sandboxes may share /tmp; a full-isolation tree is a bind mount, empty outside)."""
    import psutil

    from healing.sandbox.scratch import _cache_root

    base = str(_cache_root(repo))  # the repository's cached checkouts
    found = set()
    for proc in psutil.process_iter():
        try:
            cwd = Path(proc.cwd())
            if not cwd.parent.name.startswith(SCRATCH_PREFIX):
                continue
            git_file = cwd / ".git"  # a git worktree of the repository (the fallback)
            # An overlay over a cached checkout shows in the process's mounts; FULL without an
            # overlay binds the cached checkout (its command line names it).
            mounts = Path(f"/proc/{proc.pid}/mountinfo").read_text()
            if (
                base in mounts
                or any(base in a for a in proc.cmdline())
                or (git_file.is_file() and str(repo) in git_file.read_text())
            ):
                found.add(cwd.parent)
        except (psutil.Error, OSError):
            continue
    return found


def test_it_kills_a_running_sandbox_when_an_operator_presses_emergency_stop(
    asgi_server: str, browser: Any, tmp_path: Path, celery_worker_process: Any
) -> None:
    from healing.sandbox_probe import best_isolation_level

    repo = factories.make_git_repo(
        tmp_path / "repo",
        {"app.py": "def add(a, b):\n    return a - b\n", "test_slow.py": SLOW_TEST},
    )
    workspace = factories.make_workspace(
        repo, name="slow", isolation_level=best_isolation_level()[0]
    )
    factories.make_user("olga", role="operator")
    bot = factories.make_user("bot", role="agent")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.token_for(bot)}")
    envelope = {
        "schema_version": "2.0",
        "patch_id": "slow-fix",
        "workspace": workspace.name,
        "language": "python",
        "error_classification": {"error_type": "logic", "severity": "medium"},
        "confidence_scoring": {"logits": [6.0, 0.1, 0.1]},
        "patch_data": {
            "diff": "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n"
            "-    return a - b\n+    return a + b\n"
        },
    }
    response = _elsewhere(client.post, "/api/v1/patches/", envelope, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]

    page = _page(browser, asgi_server)
    _login(page, "olga", f"/patches/{pk}/")
    _wait_live(page)
    # Wait (bounded) until the worker's sandbox is really running the 30 s tests.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = _sandboxes_of(repo)
        if started and Modification.objects.get(pk=pk).status == "sandboxing":
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"no sandbox started: {Modification.objects.get(pk=pk).status}")
    page.wait_for_timeout(1000)  # let the test process itself start inside the sandbox

    page.click("#stop-button")
    page.locator("#stop-dialog").wait_for()
    page.fill("#stop-reason", "runaway sandbox drill")
    pressed = time.monotonic()
    page.click("#stop-confirm")
    page.locator("#emergency-banner").get_by_text("runaway sandbox drill").wait_for()

    page.goto(f"/patches/{pk}/")
    deadline = pressed + 15
    while time.monotonic() < deadline and Modification.objects.get(pk=pk).status != "blocked":
        page.wait_for_timeout(200)
    elapsed = time.monotonic() - pressed
    mod = Modification.objects.get(pk=pk)
    assert mod.status == "blocked", (mod.status, elapsed)
    assert "emergency stop" in mod.block_reason
    page.reload()
    assert "blocked" in page.locator("#mod-status").inner_text().lower()
    _shoot(page, "review-blocked-1280")
    # The sandbox's scratch tree is gone with its processes, long before the 30 s sleep ended.
    assert not [d for d in started if d.exists()], started
    assert _sandboxes_of(repo) == set()  # and no process of it is left
    print(f"emergency stop pressed → patch blocked in {elapsed:.2f} s")
    assert elapsed < 15
    page.context.close()


def test_it_shows_the_findings_of_a_patch_the_worker_rejected(
    asgi_server: str, browser: Any, tmp_path: Path, celery_worker_process: Any
) -> None:
    from rest_framework.test import APIClient

    from tests.system.test_pipeline_end_to_end import DANGEROUS, _envelope

    repo = factories.make_git_repo(
        tmp_path / "repo",
        {"app.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"},
    )
    factories.make_workspace(repo, name="demo")
    factories.make_user("rita", role="reviewer")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {factories.token_for(factories.make_user('bot', role='agent'))}"
    )
    response = _elsewhere(
        client.post, "/api/v1/patches/", _envelope("agent-evil", DANGEROUS), format="json"
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Modification.objects.get(pk=pk).status != "rejected":
        time.sleep(0.2)
    assert Modification.objects.get(pk=pk).status == "rejected"

    page = _page(browser, asgi_server)
    _login(page, "rita", f"/patches/{pk}/")
    assert "rejected" in page.locator("#mod-status").inner_text().lower()
    # The finding sits beside the line it is about, in the diff.
    page.locator(".diff").get_by_text("os.system", exact=False).first.wait_for()
    assert "os.system" in page.locator("body").inner_text()
    _shoot(page, "review-rejected-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(page, "review-rejected-390")
    page.context.close()


def test_it_corrects_a_status_that_changed_before_the_page_started_watching(
    asgi_server: str, browser: Any, tmp_path: Path
) -> None:
    workspace = factories.make_workspace(tmp_path / "repo", name="shop")
    factories.make_user("rita", role="reviewer")
    mod = awaiting(workspace, "MEDIUM_RISK", patch_id="raced")
    page = _page(browser, asgi_server)
    _login(page, "rita", "/")

    def change_then_connect(ws: Any) -> None:
        # The page is rendered as awaiting_approval; the patch moves on before its socket opens and
        # watches the workspace (no broadcast can reach it), as a fast worker can make happen.
        Modification.objects.filter(pk=mod.pk).update(status="applied")
        ws.connect_to_server()

    page.route_web_socket("**/ws/live/", change_then_connect)
    page.goto(f"/patches/{mod.pk}/")
    page.wait_for_function(
        "() => /applied/i.test(document.getElementById('mod-status').textContent)", timeout=15_000
    )
    page.context.close()


def _csp_violations(page: Any) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


def test_it_cancels_a_patch_from_the_review_page_after_a_confirm(
    asgi_server: str, browser: Any, tmp_path: Path
) -> None:
    workspace = factories.make_workspace(factories.make_git_repo(tmp_path / "repo"), name="shop")
    mod = awaiting(workspace, "HIGH_RISK", patch_id="drop-me-3")
    factories.make_user("olga", role="operator")
    page = _page(browser, asgi_server)
    violations = _csp_violations(page)
    _login(page, "olga", f"/patches/{mod.pk}/")
    _wait_live(page)  # the websocket opens under the policy
    page.fill("#cancel-reason", "superseded by another fix")
    # Dismissed: nothing happens.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-button")
    page.wait_for_timeout(500)
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#cancel-button")
    assert "drop-me-3 cancelled." in page.content()
    assert page.locator("#mod-status").get_attribute("data-status") == "cancelled"
    assert violations == []
    page.context.close()


def test_it_switches_the_monitoring_source_without_an_inline_handler(
    asgi_server: str, browser: Any, api_as: Any
) -> None:
    from monitoring.synthetic import api_payload

    admin = factories.make_user("ada", role="admin")
    for source in ("agent:ada", "prod-web"):
        api_as(admin).post(
            "/api/v1/snapshots/", {"source": source, "snapshots": api_payload(5)}, format="json"
        )
    page = _page(browser, asgi_server)
    violations = _csp_violations(page)
    _login(page, "ada", "/monitoring/")
    page.wait_for_selector("#chart-phi .main-svg")  # Plotly drew under the policy
    with page.expect_navigation():
        page.select_option("#source-pick", "prod-web")
    assert "source=prod-web" in page.url
    assert violations == []


def test_it_runs_and_paces_the_healing_loop_from_the_monitoring_page(
    asgi_server: str, browser: Any
) -> None:
    from healing import tunables
    from monitoring.models import HealingLoopState

    factories.make_user("olga", role="operator")
    factories.make_user("rita", role="reviewer")
    watcher = _page(browser, asgi_server)
    _login(watcher, "rita", "/monitoring/")
    assert watcher.locator("#loop-controls").count() == 0  # reviewers see the state only
    _wait_live(watcher)
    _settled(watcher)

    page = _page(browser, asgi_server)
    _login(page, "olga", "/monitoring/")
    page.fill("#loop-reason", "watching the deploy")
    page.click("#loop-start")
    page.locator("#loop-stop").wait_for()
    assert page.locator("#loop-state").inner_text() == "running"
    assert "watching the deploy" in page.locator("#h-loop + p").inner_text()
    assert HealingLoopState.objects.current().running
    watcher.locator("#loop-state", has_text="running").wait_for()  # live, without a reload

    page.fill("#loop-interval", "10")  # under the minimum: the browser refuses it
    page.click("#loop-interval-save")
    assert tunables.get("loop.interval_seconds") == 300
    page.fill("#loop-interval", "90")
    page.click("#loop-interval-save")
    page.get_by_text("runs every 90 s").wait_for()
    assert tunables.get("loop.interval_seconds") == 90

    page.click("#loop-stop")
    page.locator("#loop-start").wait_for()
    assert not HealingLoopState.objects.current().running
    watcher.locator("#loop-state", has_text="stopped").wait_for()
    _shoot(page, "monitoring-loop-1280")
    watcher.context.close()
    page.context.close()


def test_it_finds_a_workspace_on_the_workspaces_page(asgi_server: str, browser: Any) -> None:
    factories.bulk_workspaces(60, patches_each=4, prefix="fleet")
    factories.make_user("rita", role="reviewer")
    page = _page(browser, asgi_server)
    _login(page, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workspaces").click()
    page.wait_for_url("**/workspaces/")
    assert page.locator("#workspaces-table tbody tr").count() == 50
    page.fill("#f-q", "fleet-00042")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=fleet-00042**")
    rows = page.locator("#workspaces-table tbody tr")
    assert rows.count() == 1
    assert "fleet-00042-p0" in rows.inner_text()
    rows.get_by_role("link", name="fleet-00042", exact=True).click()
    page.get_by_role("heading", name="Workspace fleet-00042").wait_for()
    _shoot(page, "workspaces-1280")
    page.context.close()
