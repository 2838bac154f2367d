"""Workspace environments: keyed by their setup inputs, built once in a sandbox of their own by
the real task, bound read-only into every test run; failed builds block with their log tail.

These workspaces declare no Python (languages=["javascript"]): no instrument is brought into the
environment, so the build needs no package index and the tests stay fast and offline. The real
pip installs are in test_real_project_slugify.py."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from healing.actions.environments import do_rebuild_environment
from healing.breakers.tasks import lift_holds
from healing.models import EnvironmentBuild, Hold, SandboxRun
from healing.sandbox import run_tests
from healing.sandbox.backends import get_backend
from healing.sandbox.environment_tasks import build_environment
from healing.sandbox.environments import EnvironmentNotReady, ensure, needed, own_network
from healing.sandbox.tasks import sandbox_modification
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.apply_helpers import FIX, make_repo
from tests.sandbox_helpers import loopback_listener

needs_bwrap = pytest.mark.skipif(not bubblewrap_works()[0], reason="needs bubblewrap")
LEFT_PAD = (
    "mkdir -p node_modules/left-pad && "
    "echo 'module.exports = (s, n) => String(s).padStart(n)' > node_modules/left-pad/index.js"
)
PAD_TEST = (
    "const test = require('node:test');\nconst assert = require('node:assert');\n"
    "test('pads', () => assert.strictEqual(require('left-pad')(7, 3), '  7'));\n"
)


@pytest.fixture
def env_root(settings: Any, tmp_path: Path) -> Path:
    settings.SELFHEAL_ENVIRONMENTS = str(tmp_path / "environments")
    return tmp_path / "environments"


def _workspace(tmp_path: Path, setup: str, level: str = "full", **fields: Any) -> Any:
    repo = make_repo(tmp_path)
    (repo / "requirements.txt").write_text("# nothing yet\n")
    factories.git(repo, "add", "requirements.txt")
    factories.git(repo, "commit", "-qm", "requirements")
    return factories.make_workspace(
        repo, name="calc", isolation_level=level, setup_command=setup, languages=["javascript"],
        test_command="python -m pytest -q -p no:cacheprovider", **fields,
    )  # fmt: skip


def _commit(ws: Any, name: str, text: str) -> str:
    (ws.repo_path / name).write_text(text)
    factories.git(ws.repo_path, "add", name)
    factories.git(ws.repo_path, "commit", "-qm", f"edit {name}")
    return ws.head_commit()


def _build_now(ws: Any, commit: str, diff: str | None = None) -> list[Any]:
    """Ask for the environments; run the build task the request queued; ask again."""
    with pytest.raises(EnvironmentNotReady, match="environment building"):
        ensure(ws, commit, diff)
    for build in EnvironmentBuild.objects.filter(status="pending"):
        build_environment(build.pk)
    return ensure(ws, commit, diff)


def test_it_keys_the_environment_by_the_setup_inputs_not_by_the_commit(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    ws = _workspace(tmp_path, "true")
    first = needed(ws, ws.head_commit(), None)[0]
    assert needed(ws, _commit(ws, "app.py", "x = 1\n"), None)[0] == first
    bump = "--- a/requirements.txt\n+++ b/requirements.txt\n@@ -1 +1 @@\n-# nothing yet\n+six\n"
    patched = needed(ws, ws.head_commit(), bump)
    assert patched[0] != first and patched[2] == bump
    assert needed(ws, ws.head_commit(), bump)[0] == patched[0]  # the same diff: the same key
    # A commit making the same change never gets what a patch's setup code built.
    assert needed(ws, _commit(ws, "requirements.txt", "six\n"), None)[0] != patched[0]
    ws.setup_command = "true # another command"
    assert needed(ws, ws.head_commit(), None)[0] != patched[0]


def test_it_keys_a_patched_tree_by_the_inputs_git_writes_not_the_names_in_the_text(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    ws = _workspace(tmp_path, "true")
    base = needed(ws, ws.head_commit(), None)[0]
    # The text names deps/requirements.txt; git (at -p1, as the sandbox applies it) writes
    # requirements.txt: the run needs an environment built from the patched inputs.
    bump = (
        "--- deps/requirements.txt\n+++ deps/requirements.txt\n@@ -1 +1 @@\n-# nothing yet\n+six\n"
    )
    key, digests, tree_diff = needed(ws, ws.head_commit(), bump)
    assert key != base and tree_diff == bump
    assert digests["requirements.txt"] == hashlib.sha256(b"six\n").hexdigest()
    # A diff git refuses changes no input: its run fails when its tree is made.
    assert needed(ws, ws.head_commit(), bump.replace("# nothing yet", "# other"))[0] == base


@needs_bwrap
def test_it_builds_once_and_commits_with_the_same_key_share_it(
    db: Any, tmp_path: Path, env_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    ws = _workspace(tmp_path, 'python -c "print(\'yes\')" > "$VIRTUAL_ENV/built"')
    with (
        django_capture_on_commit_callbacks(execute=False) as sent,
        pytest.raises(EnvironmentNotReady, match="environment building"),
    ):
        ensure(ws, ws.head_commit())
    assert [c for c in sent if "do_request_environment" in c.__qualname__]  # the build task
    build = EnvironmentBuild.objects.get()
    assert build_environment(build.pk) == "ready", EnvironmentBuild.objects.get().log_tail
    assert build_environment(build.pk) is None  # claimed once: a second delivery builds nothing
    build.refresh_from_db()
    assert build.path == str(env_root / build.key)
    assert (Path(build.path) / "built").read_text() == "yes\n"
    assert build.size_bytes > 0 and build.duration_ms > 0 and build.finished_at
    [again] = ensure(ws, _commit(ws, "app.py", "x = 1\n"))
    assert again.pk == build.pk and EnvironmentBuild.objects.count() == 1


@needs_bwrap
def test_it_runs_the_tests_with_the_environments_python_read_only(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    ws = _workspace(tmp_path, "true")
    ws.test_command = (
        "python -c \"import sys; print('PREFIX', sys.prefix); "
        "open(sys.prefix + '/poison', 'w').write('x')\""
    )
    ws.save(update_fields=["test_command"])
    [build] = _build_now(ws, ws.head_commit())
    result = run_tests(ws)
    # python on PATH is the environment's; the write fails: the environment is read-only.
    assert f"PREFIX {build.path}" in result.output_tail
    assert result.detail["exit_code"] != 0 and "Read-only file system" in result.output_tail
    assert not (Path(build.path) / "poison").exists()
    assert result.detail["environment"] == build.path


@needs_bwrap
def test_it_keeps_selfheals_var_dir_and_other_environments_out_of_the_build(
    db: Any, tmp_path: Path, env_root: Path, settings: Any
) -> None:
    secret = Path(settings.VAR_DIR) / f"secret-{uuid.uuid4().hex}"
    secret.write_text("TOKEN-123")
    other = env_root / ("0" * 64)
    other.mkdir(parents=True)
    try:
        attack = (
            f"cat {secret} > $VIRTUAL_ENV/leak; ls {settings.VAR_DIR} >> $VIRTUAL_ENV/leak; "
            f"echo pwned > {other}/bin-python; ls {Path.home()} >> $VIRTUAL_ENV/leak; true"
        )
        ws = _workspace(tmp_path, attack)
        [build] = _build_now(ws, ws.head_commit())
        leak = (Path(build.path) / "leak").read_text()
        assert "TOKEN-123" not in leak and secret.name not in leak
        assert not (other / "bin-python").exists()
    finally:
        secret.unlink()


@needs_bwrap
def test_it_blocks_patches_on_a_failed_build_naming_it_and_lifts_after_a_rebuild(
    db: Any, tmp_path: Path, env_root: Path, admin_user: Any
) -> None:
    # Fails the first time only (the index was down, say): the cache it keeps says it tried.
    flaky = (
        'if [ -e "$PIP_CACHE_DIR/tried" ]; then exit 0; fi; touch "$PIP_CACHE_DIR/tried"; '
        "echo 'no such package: left-pad'; exit 1"
    )
    ws = _workspace(tmp_path, flaky, level="partial")
    mod = factories.make_modification(
        ws, diff=FIX, status="sandboxing", base_commit=ws.head_commit(), safety_level="SAFE",
        error_type="logic", envelope={"confidence_scoring": {"overall_confidence": 0.99}},
    )  # fmt: skip
    assert sandbox_modification(mod.pk) == "blocked"
    mod.refresh_from_db()
    assert mod.block_reason.startswith("environment building")
    build = EnvironmentBuild.objects.get()
    building, failed = f"environment_building:{build.key}", f"environment_failed:{build.key}"
    assert list(Hold.objects.filter(modification=mod).values_list("kind", "key")) == [
        ("environment_building", build.key)
    ]
    # The build fails; the lift it sends puts the patch back in the sandbox, where it blocks on
    # the failure: the reason names the build, never its log (the engine reads the reason).
    assert build_environment(build.pk) == "failed"
    assert lift_holds(building) == [mod.pk]
    assert sandbox_modification(mod.pk) == "blocked"
    mod.refresh_from_db()
    assert mod.block_reason.startswith("environment build failed")
    assert build.key[:12] in mod.block_reason and "workspace" in mod.block_reason
    assert "left-pad" not in mod.block_reason
    assert "no such package: left-pad" in EnvironmentBuild.objects.get().log_tail
    assert lift_holds(failed) == []  # a failure holds until a person asks again
    # A person retries once the cause is gone: the patch waits for the new build, then runs.
    rebuilt = do_rebuild_environment(admin_user, ws)
    assert rebuilt.pk == build.pk and rebuilt.status == "pending"
    assert lift_holds(failed) == [mod.pk]
    assert sandbox_modification(mod.pk) == "blocked"
    assert build_environment(build.pk) == "ready"
    assert lift_holds(building) == [mod.pk]
    mod.refresh_from_db()
    assert mod.status == "sandboxing"
    # It runs now, in the environment (which lacks pytest here: judging it is another test's).
    assert sandbox_modification(mod.pk) != "blocked"
    run = SandboxRun.objects.get(modification=mod, kind="patched")
    assert run.detail["environment"] == EnvironmentBuild.objects.get().path


@needs_bwrap
@pytest.mark.parametrize("level", ["full", "partial", "none"])
def test_it_binds_what_the_setup_put_in_the_tree_back_into_every_run(
    db: Any, tmp_path: Path, env_root: Path, level: str
) -> None:
    available, why = get_backend(level).available()
    if not available:
        pytest.skip(why)
    ws = _workspace(tmp_path, LEFT_PAD, level=level)
    # The environment's python (PARTIAL hides the var dir it lives in) and its node_modules.
    ws.test_command = (
        'sh -c \'python -c "import sys; print(sys.prefix)" && '
        'node -e "console.log(\\"[\\" + require(\\"left-pad\\")(7, 3) + \\"]\\")"\''
    )
    ws.save(update_fields=["test_command"])
    [build] = _build_now(ws, ws.head_commit())
    assert (Path(build.path) / "tree" / "node_modules" / "left-pad").is_dir()
    assert "kept node_modules/" in build.log_tail
    result = run_tests(ws)
    assert result.detail["exit_code"] == 0, result.output_tail
    assert "[  7]" in result.output_tail and build.path in result.output_tail
    # The run's tree went with the link, not with what it led to.
    assert (Path(build.path) / "tree" / "node_modules" / "left-pad" / "index.js").is_file()


@needs_bwrap
def test_it_prunes_the_least_recently_used_environments_beyond_the_count(
    db: Any, tmp_path: Path, env_root: Path, admin_user: Any
) -> None:
    from healing.actions import do_change_setting
    from healing.sandbox.environment_tasks import prune_environments

    ws = _workspace(tmp_path, "true")
    [old] = _build_now(ws, ws.head_commit())
    [new] = _build_now(ws, _commit(ws, "requirements.txt", "# another input\n"))
    assert old.key != new.key and Path(old.path).is_dir()
    do_change_setting(admin_user, "environment.keep", 1, "test: keep one")
    assert prune_environments() == [old.key]
    assert not Path(old.path).exists() and Path(new.path).is_dir()
    assert list(EnvironmentBuild.objects.values_list("key", flat=True)) == [new.key]


@needs_bwrap
def test_it_builds_a_pruned_environment_again_for_the_post_apply_tests(
    db: Any, tmp_path: Path, env_root: Path, admin_user: Any
) -> None:
    from healing.actions import do_change_setting
    from healing.apply.actions import do_apply
    from healing.apply.verify import verify_tests
    from healing.sandbox.environment_tasks import prune_environments
    from tests.apply_helpers import approved_modification

    ws = _workspace(tmp_path, LEFT_PAD)
    ws.test_command = "node --test"
    ws.save(update_fields=["test_command"])
    [head_env] = _build_now(ws, _commit(ws, "pad.test.js", PAD_TEST))
    _build_now(ws, _commit(ws, "requirements.txt", "# another input\n"))
    # Back to the first inputs: HEAD's environment is the least recently used, and pruned.
    _commit(ws, "requirements.txt", "# nothing yet\n")
    do_change_setting(admin_user, "environment.keep", 1, "test: keep one")
    assert prune_environments() == [head_env.key]
    mod = approved_modification(ws)
    do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "applied"
    # Neither "cannot verify" (a rollback) nor a pass unverified: the tests ran in it, rebuilt.
    assert verify_tests(mod) is None
    run = SandboxRun.objects.get(modification=mod, kind="verify")
    assert run.detail["environment"] == head_env.path
    assert [(t["name"], t["outcome"]) for t in run.tests] == [("pads", "passed")], run.tests
    assert EnvironmentBuild.objects.get(key=head_env.key).status == "ready"


@needs_bwrap
def test_it_does_not_pass_the_post_apply_tests_when_their_environment_fails_to_build(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    from healing.apply.actions import do_apply
    from healing.apply.verify import verify_tests
    from tests.apply_helpers import approved_modification

    ws = _workspace(tmp_path, "exit 3")
    mod = approved_modification(ws)
    do_apply(mod)
    mod.refresh_from_db()
    problem = verify_tests(mod)
    assert problem is not None and problem.startswith("cannot verify: environment build failed")
    assert not SandboxRun.objects.filter(modification=mod, kind="verify").exists()


@needs_bwrap
@pytest.mark.skipif(not own_network(), reason="needs slirp4netns")
def test_it_keeps_the_hosts_loopback_services_out_of_reach_of_the_build(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    # Selfheal's Redis or database listening on 127.0.0.1 is what a hostile setup would dial.
    with loopback_listener() as (port, accepted):
        dial = (
            "import socket\nfor host in ('127.0.0.1', '10.0.2.2'):\n    try:\n"
            f"        socket.create_connection((host, {port}), timeout=2); print('REACHED')\n"
            "    except OSError as exc: print('refused', exc)\n"
        )
        ws = _workspace(tmp_path, "python dial.py")
        commit = _commit(ws, "dial.py", dial)
        [build] = _build_now(ws, commit)
    assert not accepted and "REACHED" not in build.log_tail
    assert "refused" in build.log_tail


@needs_bwrap
def test_it_follows_no_link_the_setup_plants_to_a_host_file(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    # The build cannot see the host, but it can name a host path in a link for Selfheal to
    # follow afterwards: into the build record (freeze) or into every test run (node_modules).
    secret_dir = tmp_path / "host-secrets"
    secret_dir.mkdir()
    (secret_dir / "token").write_text("leaked-token==1.0\n")
    setup = (
        f"ln -s {secret_dir} node_modules && "
        f"trap 'ln -sf {secret_dir}/token \"$SELFHEAL_OUT/freeze.txt\"' EXIT"
    )
    ws = _workspace(tmp_path, setup)
    [build] = _build_now(ws, ws.head_commit())
    assert "leaked-token" not in build.packages
    assert not (Path(build.path) / "tree" / "node_modules").exists()


@needs_bwrap
def test_it_gives_a_patched_build_no_credentials_and_shows_none_in_its_log(
    db: Any, tmp_path: Path, env_root: Path, monkeypatch: Any
) -> None:
    # A patch touching requirements.txt makes a build that runs the patched tree's setup: it
    # prints what it can read and fails, hoping the log reaches the engine through the block.
    ws = _workspace(tmp_path, 'env; cat "$HOME/.npmrc" "$HOME/.pip/pip.conf"; exit 1')
    home = tmp_path / "home"
    (home / ".pip").mkdir(parents=True)
    (home / ".npmrc").write_text("//npm.example/:_authToken=npm-token-7f3a9c\n")
    (home / ".pip" / "pip.conf").write_text("[global]\nindex-url = https://u:pip-conf-4b2d@x/\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PIP_INDEX_URL", "https://deploy:idx-secret-91e2@pypi.example/simple")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:proxy-pw-55aa@proxy.example:3128")
    bump = "--- a/requirements.txt\n+++ b/requirements.txt\n@@ -1 +1 @@\n-# nothing yet\n+six\n"
    with pytest.raises(EnvironmentNotReady, match="environment building"):
        ensure(ws, ws.head_commit(), bump)
    for build in EnvironmentBuild.objects.filter(status="pending"):
        build_environment(build.pk)
    with pytest.raises(EnvironmentNotReady, match="environment build failed") as blocked:
        ensure(ws, ws.head_commit(), bump)
    patched = EnvironmentBuild.objects.exclude(diff="").get()
    assert "setup command exited 1" in patched.log_tail  # it ran and printed
    for secret in ("npm-token-7f3a9c", "pip-conf-4b2d", "idx-secret-91e2", "proxy-pw-55aa"):
        assert secret not in patched.log_tail and secret not in str(blocked.value)
    # The patched build was given none of it; the commit's own build (the workspace's code) had
    # the index's URL, and its log shows it redacted.
    assert "PIP_INDEX_URL" not in patched.log_tail and "HTTPS_PROXY" not in patched.log_tail
    own = EnvironmentBuild.objects.get(diff="").log_tail
    assert "[PIP_INDEX_URL redacted]" in own and "idx-secret-91e2" not in own


@needs_bwrap
@pytest.mark.skipif(not own_network(), reason="needs slirp4netns")
def test_it_closes_the_lan_and_the_metadata_address_to_a_patched_build(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    # Nothing is dialled: `ip route get` only asks the build's routing table where a packet to
    # the address would go (a LAN host, the cloud's metadata service, an IPv4-mapped neighbour).
    probe = (
        "for a in 10.1.2.3 172.20.0.1 192.168.1.1 169.254.169.254 100.64.0.1; do "
        'echo "ROUTE $a: $(/usr/sbin/ip route get $a 2>&1 | head -1)"; done; '
        'echo "ROUTE fd00::1: $(/usr/sbin/ip -6 route get fd00::1 2>&1 | head -1)"'
    )
    ws = _workspace(tmp_path, probe)
    bump = "--- a/requirements.txt\n+++ b/requirements.txt\n@@ -1 +1 @@\n-# nothing yet\n+six\n"
    _build_now(ws, ws.head_commit(), bump)
    patched = EnvironmentBuild.objects.exclude(diff="").get()
    routes = [line for line in patched.log_tail.splitlines() if line.startswith("ROUTE ")]
    assert len(routes) == 6, patched.log_tail
    for line in routes:
        assert "no route to host" in line.lower() or "unreachable" in line, line
    # The commit's own build (the workspace's code, which may use a LAN mirror) is routed out.
    own = EnvironmentBuild.objects.get(diff="").log_tail
    assert "ROUTE 10.1.2.3: 10.1.2.3 via 10.0.2.2 dev tap0" in own, own


@needs_bwrap
def test_it_keeps_a_patched_builds_cache_and_environment_from_the_workspaces_builds(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    # A patch's setup code leaves a poisoned wheel in the pip cache for the next build to install.
    setup = (
        'if [ -e "$PIP_CACHE_DIR/poison.whl" ]; then echo POIS""ONED; fi; '
        'touch "$PIP_CACHE_DIR/poison.whl"'
    )
    ws = _workspace(tmp_path, setup)
    bump = "--- a/requirements.txt\n+++ b/requirements.txt\n@@ -1 +1 @@\n-# nothing yet\n+six\n"
    with pytest.raises(EnvironmentNotReady, match="environment building"):
        ensure(ws, ws.head_commit(), bump)
    patched = EnvironmentBuild.objects.exclude(diff="").get()
    assert build_environment(patched.pk) == "ready"
    own = EnvironmentBuild.objects.get(diff="")
    assert build_environment(own.pk) == "ready"
    own.refresh_from_db()
    assert "POISONED" not in own.log_tail, own.log_tail
    # Nor does a commit making the patch's change reuse the patch's environment.
    [built] = _build_now(ws, _commit(ws, "requirements.txt", "six\n"))
    assert built.pk not in (patched.pk, own.pk)


@needs_bwrap
def test_it_never_hangs_on_a_fifo_the_setup_plants_for_selfheal_to_read(
    db: Any, tmp_path: Path, env_root: Path
) -> None:
    import signal

    def hung(*_: Any) -> None:
        raise TimeoutError("the worker hangs reading the build's output")

    # No instrument is missing here, so the build never writes out/tools: the setup's FIFO stays.
    ws = _workspace(tmp_path, 'mkfifo "$SELFHEAL_OUT/tools"')
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        [build] = _build_now(ws, ws.head_commit())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert build.tools_added == [] and "out/tools ignored: " in build.log_tail
