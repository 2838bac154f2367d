"""A workspace's environment: a virtualenv holding its dependencies, built by its setup command.

The key is the setup command, the interpreter (path and version) and the content of the setup
inputs present in the tree (read from git blobs, or from the patched tree for a patch that changes
one). Commits with the same key share one environment, built once, in the background, under
var/environments/<key>/ in a sandbox of its own (network allowed; nothing of Selfheal's var dir,
database, secrets or other workspaces visible). Test runs bind it read-only at the same path.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .. import tunables
from . import IsolationUnavailable, _redact
from .limits import Limits

MB = 1024 * 1024
LOG_TAIL = 4000
GIT_SECONDS = 60  # reading what a diff writes, for its environment's key
BUILDING = "environment building"
FAILED_PREFIX = "environment build failed"
# Selfheal's instruments: installed into a project's environment only when absent from it.
TOOLS = ("pytest", "coverage")


class EnvironmentNotReady(IsolationUnavailable):
    """The run needs an environment that is building or failed: the patch waits (blocked) on
    `holds` ("environment_building:<key>", "environment_failed:<key>"; see actions)."""

    def __init__(self, message: str, holds: list[str] | None = None) -> None:
        super().__init__(message)
        self.holds = holds or []


def limits_for(workspace: Any) -> Limits:
    values = tunables.get_group("environment.", workspace)
    return Limits(**{f: values[f"environment.{f}"] for f in Limits.__dataclass_fields__})


def root() -> Path:
    from django.conf import settings

    return Path(
        getattr(settings, "SELFHEAL_ENVIRONMENTS", None) or settings.VAR_DIR / "environments"
    )


def interpreter_of(workspace: Any) -> str:
    return workspace.interpreter or sys.executable


@functools.lru_cache(maxsize=16)
def interpreter_identity(path: str) -> str:
    """The interpreter's version and base prefix: part of the key (an upgrade rebuilds)."""
    out = subprocess.run(
        [path, "-c", "import sys; print(sys.version); print(sys.base_prefix)"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise EnvironmentNotReady(f"the interpreter {path} does not run: {out.stderr[-300:]}")
    return out.stdout.strip()


def _matches(path: str, patterns: list[str]) -> bool:
    # A bare name ("requirements*.txt") means the file at the repository root.
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def inputs_at(repo: Path, commit: str, patterns: list[str]) -> dict[str, bytes]:
    """The setup inputs present at `commit`, read from git blobs (no checkout)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "-z", commit],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise EnvironmentNotReady(f"cannot list {commit[:10]}: {out.stderr.decode()[-300:]}")
    blobs: dict[str, str] = {}
    for entry in out.stdout.split(b"\0"):
        if not entry:
            continue
        meta, name = entry.split(b"\t", 1)
        path = name.decode("utf-8", "replace")
        if meta.split()[1] == b"blob" and _matches(path, patterns):
            blobs[path] = meta.split()[2].decode()
    contents: dict[str, bytes] = {}
    for path, sha in sorted(blobs.items()):
        blob = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "blob", sha],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        contents[path] = blob.stdout
    return contents


def changed_inputs(paths: list[str], patterns: list[str]) -> list[str]:
    """The setup inputs among `paths`: the paths git writes (added, modified or deleted; a rename
    is both names), never the names the diff's text gives."""
    return sorted({p for p in paths if _matches(p, patterns)})


def patched_inputs(
    repo: Path, commit: str, diff: str, patterns: list[str]
) -> tuple[list[str], dict[str, bytes]]:
    """(the setup inputs the diff changes, the inputs after it), from what git writes: the diff
    applied once to `commit` in a scratch index (validation's reading), so a diff whose text
    names one path while git writes another cannot change an input unseen. A diff git refuses
    changes nothing here: its run fails when its tree is made."""
    from ..validation.deadline import Deadline, TooComplex
    from ..validation.gitresult import GitApplyFailed, apply_to_tree

    base = inputs_at(repo, commit, patterns)
    try:
        result = apply_to_tree(repo, commit, diff, Deadline(GIT_SECONDS))
    except GitApplyFailed:
        return [], base
    except TooComplex as exc:
        raise EnvironmentNotReady(f"cannot read what the diff writes: {exc}") from None
    entries = {e.path: e for e in result.entries if _matches(e.path, patterns)}
    inputs = {path: content for path, content in base.items() if path not in entries}
    for path, entry in entries.items():
        if entry.status == "D":
            continue
        # No text for a binary (or a submodule): its blob id stands for its content.
        inputs[path] = entry.after if entry.after is not None else f"blob {entry.new_sha}".encode()
    return sorted(entries), dict(sorted(inputs.items()))


def key_for(workspace: Any, inputs: dict[str, bytes], diff: str = "") -> tuple[str, dict[str, str]]:
    """A patched tree's key carries its diff: what a patch's setup code built is shared with no
    other run (no commit, no other patch) unless the very same diff asks for it."""
    interpreter = interpreter_of(workspace)
    digests = {path: hashlib.sha256(content).hexdigest() for path, content in inputs.items()}
    material = {
        "setup_command": workspace.setup_command,
        "interpreter": interpreter,
        "identity": interpreter_identity(interpreter),
        "inputs": digests,
    }
    if diff:
        material["patched_tree"] = hashlib.sha256(diff.encode()).hexdigest()
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest(), digests


def needed(workspace: Any, commit: str, diff: str | None) -> tuple[str, dict[str, str], str]:
    """(key, input digests, the diff the tree needs or "") of the environment a run needs.
    A commit never changes: its key is remembered, so a cache hit costs no git process."""
    return _needed(
        str(workspace.repo_path), commit, diff or "", workspace.setup_command,
        interpreter_of(workspace), tuple(workspace.setup_inputs or []),
    )  # fmt: skip


@functools.lru_cache(maxsize=256)
def _needed(
    repo: str, commit: str, diff: str, setup_command: str, interpreter: str, patterns: tuple
) -> tuple[str, dict[str, str], str]:
    from types import SimpleNamespace

    workspace = SimpleNamespace(setup_command=setup_command, interpreter=interpreter)
    return _compute_needed(workspace, Path(repo), commit, diff or None, list(patterns))


def _compute_needed(
    workspace: Any, repo: Path, commit: str, diff: str | None, patterns: list[str]
) -> tuple[str, dict[str, str], str]:
    if not diff:
        return (*key_for(workspace, inputs_at(repo, commit, patterns)), "")
    touched, inputs = patched_inputs(repo, commit, diff, patterns)
    if not touched:
        return (*key_for(workspace, inputs), "")
    return (*key_for(workspace, inputs, diff), diff)


def ensure(workspace: Any, commit: str, diff: str | None = None) -> list[Any]:
    """The environments a run of `commit` (and, with a diff, of the patched tree) needs, ready;
    else the builds are requested and EnvironmentNotReady raised (the caller blocks)."""
    from ..actions.environments import do_request_environment, do_touch_environment
    from ..models import EnvironmentBuild, EnvironmentStatus

    if not workspace.setup_command:
        return []
    wanted = [needed(workspace, commit, None)]
    if diff:
        patched = needed(workspace, commit, diff)
        if patched[0] != wanted[0][0]:
            wanted.append(patched)
    ready, waiting, failed = [], [], []
    for key, digests, tree_diff in wanted:
        build = EnvironmentBuild.objects.filter(key=key).first()
        if build is None or (build.status == EnvironmentStatus.READY and not _intact(build)):
            do_request_environment(workspace, key=key, commit=commit, diff=tree_diff,
                                   inputs=digests, interpreter=interpreter_of(workspace))  # fmt: skip
            build = EnvironmentBuild.objects.get(key=key)
        if build.status == EnvironmentStatus.READY:
            do_touch_environment(build)
            ready.append(build)
        elif build.status == EnvironmentStatus.FAILED:
            failed.append(build)
        else:
            waiting.append(build)
    if failed:
        # Never the log itself: the reason is shown to the engine that sent the patch.
        raise EnvironmentNotReady(
            f"{FAILED_PREFIX} ({failed[0].key[:12]}): see the workspace's environments page",
            [f"environment_failed:{b.key}" for b in failed],
        )
    if waiting:
        raise EnvironmentNotReady(
            f"{BUILDING} ({', '.join(b.key[:12] for b in waiting)})",
            [f"environment_building:{b.key}" for b in waiting],
        )
    return ready


def build_now(holds: list[str], workspace: Any) -> bool:
    """Build here the environments `holds` waits on (environment_building:<key>), or wait for
    the worker building one (a build it stalls is claimed here). For the post-apply
    verification, which has no patch to hold. False when none was waited on."""
    from ..actions.environments import do_claim_build, do_record_build
    from ..models import EnvironmentBuild, EnvironmentStatus

    keys = [h.split(":", 1)[1] for h in holds if h.startswith("environment_building:")]
    # A build stalled past twice its wall time may be claimed again (do_claim_build).
    wait = float(tunables.get("environment.wall_time_s", workspace)) * 2 + 90
    for key in keys:
        record = EnvironmentBuild.objects.filter(key=key).first()
        ends = time.monotonic() + wait
        while record is not None and time.monotonic() < ends:
            claimed = do_claim_build(record.pk)
            if claimed is not None:
                do_record_build(claimed, build(claimed, claimed.workspace))
            busy = [EnvironmentStatus.PENDING, EnvironmentStatus.BUILDING]
            if not EnvironmentBuild.objects.filter(pk=record.pk, status__in=busy).exists():
                break
            time.sleep(1)
    return bool(keys)


def dependency_change(run_detail: dict[str, Any]) -> dict[str, Any] | None:
    """The dependency diff of a patched run whose environment differs from its baseline's."""
    from ..models import EnvironmentBuild

    keys = run_detail.get("environments") or {}
    if not keys.get("patched") or keys.get("patched") == keys.get("base"):
        return None
    builds = {b.key: b for b in EnvironmentBuild.objects.filter(key__in=list(keys.values()))}
    base, patched = builds.get(keys["base"]), builds.get(keys["patched"])
    if base is None or patched is None:
        return None
    return dependency_diff(base.packages, patched.packages)


def _intact(build: Any) -> bool:
    return (Path(build.path) / "bin" / "python").exists()


# --- the build ---------------------------------------------------------------------------------

PASSED_ENV = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_FIND_LINKS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "NPM_CONFIG_REGISTRY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
)  # fmt: skip
# The machine's package-manager configuration and CA certificates, read-only.
BUILD_ETC = (
    "/etc/resolv.conf", "/etc/pip.conf", "/etc/xdg/pip", "/etc/npmrc", "/etc/ca-certificates",
    "/etc/pki", "/etc/gai.conf", "/etc/services", "/etc/protocols",
)  # fmt: skip
# Directories a setup command fills inside the project's tree.
TREE_DIRS = ("node_modules", "vendor")
USER_CONFIG = (".npmrc", ".config/pip/pip.conf", ".pip/pip.conf", ".composer/auth.json")
# What may hold an index's credentials: a patched build (the setup code of a patch's tree) gets
# none of it, nor any variable whose value carries a URL's user info.
CREDENTIAL_ETC = ("/etc/pip.conf", "/etc/xdg/pip", "/etc/npmrc")
URL_USERINFO = re.compile(r"://[^/\s@]+@")


def passed_env(patched: bool) -> dict[str, str]:
    """The machine's index and proxy settings a build gets (none with credentials if patched)."""
    passed = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    if patched:
        passed = {k: v for k, v in passed.items() if not URL_USERINFO.search(v)}
    return passed


def redact_log(text: str, env: dict[str, str]) -> str:
    """The sandbox's redaction, plus the values of every variable the build was given and the
    user info of any URL (an index's token printed by pip or by the setup)."""
    text = _redact(text)
    for name in PASSED_ENV:
        value = env.get(name) or os.environ.get(name) or ""
        if len(value) >= 6 and value in text:
            text = text.replace(value, f"[{name} redacted]")
    return URL_USERINFO.sub("://[redacted]@", text)


# Run inside the build sandbox: the setup command, then Selfheal's instruments where absent,
# pinned against everything the project installed (so none of its pins moves), then the freeze.
BUILD_SCRIPT = r"""
if [ -n "$SELFHEAL_WAIT_NET" ]; then
  i=0; while ! grep -q "^tap0	00000000" /proc/net/route; do
    i=$((i+1)); [ $i -gt 500 ] && { echo "selfheal: the build's network never came up"; exit 6; }
    sleep 0.02
  done
fi
echo "$ $SELFHEAL_SETUP"
/bin/sh -c "$SELFHEAL_SETUP" || { echo "selfheal: the setup command exited $?"; exit 3; }
missing=$(python - "$@" <<'PY'
import importlib.util, sys
print(" ".join(t for t in sys.argv[1:] if importlib.util.find_spec(t) is None))
PY
) || { echo "selfheal: python does not run in the environment"; exit 4; }
if [ -n "$missing" ]; then
  echo "selfheal: installing $missing (Selfheal's instruments, absent from the environment)"
  python -m pip freeze --all | grep -v -e '^-e' -e '^#' > "$SELFHEAL_OUT/constraints.txt"
  python -m pip install --disable-pip-version-check -c "$SELFHEAL_OUT/constraints.txt" $missing \
    || { echo "selfheal: installing $missing failed"; exit 5; }
  echo "$missing" > "$SELFHEAL_OUT/tools"
fi
python -m pip freeze --all > "$SELFHEAL_OUT/freeze.txt" 2>/dev/null || true
"""


def _bwrap_build(
    argv: list[str],
    *,
    env_dir: Path,
    work: Path,
    tree: Path,
    cache: Path,
    env: dict[str, str],
    patched: bool,
) -> list[str]:
    from .backends import ETC_FILES

    interpreter_prefix = Path(os.path.realpath(env_dir / "bin" / "python")).parent.parent
    slirp = own_network()
    cmd = [
        shutil.which("bwrap") or "bwrap",
        # Every namespace; the network's own reaches out through slirp4netns only (no host
        # loopback). Without slirp4netns, the host's network (see own_network).
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        *(["--unshare-net"] if slirp else []),
        "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "build",
        "--clearenv", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64", "--dev", "/dev", "--proc", "/proc",
        "--tmpfs", "/tmp", "--dir", "/var/tmp",  # noqa: S108 - inside the sandbox
    ]  # fmt: skip
    for path in (*ETC_FILES, *BUILD_ETC):
        if patched and path in CREDENTIAL_ETC:
            continue
        if not (slirp and path == "/etc/resolv.conf"):
            cmd += ["--ro-bind-try", path, path]
    if slirp:
        resolv = work / "resolv.conf"
        resolv.write_text("nameserver 10.0.2.3\n")  # slirp4netns's DNS forwarder
        cmd += ["--ro-bind", str(resolv), "/etc/resolv.conf"]
    if not str(interpreter_prefix).startswith("/usr"):
        cmd += ["--ro-bind", str(interpreter_prefix), str(interpreter_prefix)]
    for mount in (env_dir, work, cache):
        cmd += ["--bind", str(mount), str(mount)]
    home = Path(env["HOME"])
    for rel in () if patched else USER_CONFIG:
        cmd += ["--ro-bind-try", str(Path.home() / rel), str(home / rel)]
    cmd += ["--chdir", str(tree)]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if slirp:
        cmd += ["--setenv", "SELFHEAL_WAIT_NET", "1"]
        net = [sys.executable, str(Path(__file__).with_name("build_net.py"))]
        return [*net, *(["--no-private"] if patched else []), *cmd, "--", *argv]
    return [*cmd, "--", *argv]


def own_network() -> bool:
    """Whether builds get a network namespace of their own (slirp4netns installed). Without it
    they share the host's: the indexes are reachable, and so is whatever listens on loopback."""
    return shutil.which("slirp4netns") is not None


def _read_out(scratch_root: Path, rel: str, log: list[str]) -> str:
    """A file the build wrote: read without following a link or blocking on a FIFO it planted;
    empty (and said in the log) if it is anything but a plain file."""
    from .reports import UntrustedFile, read_untrusted

    try:
        content = read_untrusted(scratch_root, rel, MB)
    except UntrustedFile as exc:
        log.append(f"selfheal: {rel} ignored: {exc}")
        return ""
    return (content or b"").decode("utf-8", "replace")


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _set_writable(path: Path, writable: bool) -> None:
    """Read-only once built (PARTIAL and NONE bind nothing: the modes are what protects it)."""
    for dirpath, dirs, files in os.walk(path):
        for name in [*dirs, *files, ""]:
            target = os.path.join(dirpath, name) if name else dirpath
            if os.path.islink(target):
                continue
            mode = os.lstat(target).st_mode
            os.chmod(target, (mode | 0o200) if writable else (mode & ~0o222))


def remove(path: Path) -> None:
    if path.exists():
        _set_writable(path, True)
        shutil.rmtree(path, ignore_errors=True)


def parse_freeze(text: str) -> dict[str, str]:
    packages = {}
    for line in text.splitlines():
        if "==" in line and not line.startswith(("#", "-")):
            name, version = line.split("==", 1)
            packages[name.strip().lower().replace("_", "-")] = version.strip()
        elif " @ " in line:
            name, url = line.split(" @ ", 1)
            packages[name.strip().lower().replace("_", "-")] = url.strip()
    return packages


def build(build: Any, workspace: Any) -> dict[str, Any]:
    """Make the virtualenv and run the setup command in the build sandbox. Returns the fields
    of the finished record (status, duration, size, log tail, packages, tools)."""
    from ..sandbox_probe import bubblewrap_works
    from .runner import execute
    from .scratch import DiffDoesNotApply, scratch_tree

    started = time.monotonic()
    env_dir = Path(build.path)
    log: list[str] = []
    patched = bool(build.diff)
    passed = passed_env(patched)

    def finish(status: str, message: str = "", **fields: Any) -> dict[str, Any]:
        if message:
            log.append(message)
        return {
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "log_tail": redact_log("\n".join(log), passed)[-LOG_TAIL:],
            **fields,
        }

    use_bwrap = bubblewrap_works()[0]
    if not use_bwrap and workspace.isolation_level == "full":
        return finish("failed", "bubblewrap does not work here: a FULL workspace is not built")
    # A patch's setup code is never run on the host, nor on the host's network.
    if patched and not use_bwrap:
        return finish(
            "failed",
            "selfheal: bubblewrap does not work here: a patch's setup code "
            "runs only in the build sandbox, so this patched environment is not built",
        )
    if patched and not own_network():
        return finish(
            "failed",
            "selfheal: slirp4netns is not installed: a patch's setup code "
            "would share the host's network, so this patched environment is not built",
        )
    if use_bwrap and not own_network():
        log.append("selfheal: slirp4netns is not installed: the build shares the host's network")
    remove(env_dir)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    venv = subprocess.run(
        [build.interpreter, "-m", "venv", str(env_dir)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    log.append(f"$ {build.interpreter} -m venv {env_dir}\n{venv.stdout}{venv.stderr}".rstrip())
    if venv.returncode != 0:
        remove(env_dir)
        return finish("failed", f"selfheal: making the virtualenv exited {venv.returncode}")
    # A pip cache per workspace: a build never reads what another workspace's build wrote. A
    # patched build gets an empty one of its own, thrown away with its scratch: what a patch's
    # setup code writes there would otherwise be installed by the workspace's next builds.
    cache = root() / ".cache" / str(workspace.pk)
    if not patched:
        cache.mkdir(parents=True, exist_ok=True)
    limits = limits_for(workspace)
    try:
        with scratch_tree(workspace.repo_path, build.commit, build.diff or None) as scratch:
            out_dir = scratch.root / "out"
            out_dir.mkdir()
            if patched:
                cache = scratch.root / "pip-cache"
                cache.mkdir()
            env = {
                "PATH": f"{env_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                "VIRTUAL_ENV": str(env_dir),
                "HOME": str(scratch.home),
                "TMPDIR": "/tmp" if use_bwrap else str(scratch.tmp),  # noqa: S108
                "LANG": "C.UTF-8",
                "PIP_CACHE_DIR": str(cache),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1",
                "npm_config_cache": str(cache / "npm"),
                "CI": "1",
                "SELFHEAL_SETUP": build.setup_command,
                "SELFHEAL_OUT": str(out_dir),
                **passed,
            }
            tools = list(TOOLS) if "python" in (workspace.languages or ["python"]) else []
            argv = ["/bin/sh", "-c", BUILD_SCRIPT, "sh", *tools]
            if use_bwrap:
                argv = _bwrap_build(
                    argv, env_dir=env_dir, work=scratch.root, tree=scratch.tree, cache=cache,
                    env=env, patched=patched,
                )  # fmt: skip
            untracked = [n for n in TREE_DIRS if not (scratch.tree / n).exists()]
            execution = execute(argv, cwd=scratch.tree, env=env, limits=limits)
            log.append(execution.output)
            for name in untracked:
                # What the setup put in the tree (npm's node_modules, composer's vendor) is kept
                # with the environment; test runs bind it back at the same place in their tree.
                made = scratch.tree / name
                # Never a link: bound into every run, it would bring in whatever it points at.
                if execution.exit_code == 0 and made.is_dir() and not made.is_symlink():
                    (env_dir / "tree").mkdir(exist_ok=True)
                    shutil.move(scratch.tree / name, env_dir / "tree" / name)
                    log.append(f"selfheal: kept {name}/ with the environment")
            freeze = _read_out(scratch.root, "out/freeze.txt", log)
            added = _read_out(scratch.root, "out/tools", log).split()
    except DiffDoesNotApply as exc:
        remove(env_dir)
        return finish("failed", f"selfheal: the tree cannot be made: {exc}")
    if execution.limit_hit or execution.exit_code != 0:
        remove(env_dir)
        why = execution.limit_hit and f"hit the {execution.limit_hit} limit"
        return finish("failed", f"selfheal: the build {why or f'exited {execution.exit_code}'}")
    size = _size(env_dir)
    if size > limits_max_size(workspace):
        remove(env_dir)
        return finish("failed", f"selfheal: the environment is {size // MB} MB, over the limit")
    _set_writable(env_dir, False)
    return finish("ready", size_bytes=size, packages=parse_freeze(freeze), tools_added=added)


def limits_max_size(workspace: Any) -> int:
    return int(tunables.get("environment.max_size_mb", workspace)) * MB


def dependency_diff(before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    """Added, removed and changed packages between two environments' freezes."""
    return {
        "added": {n: after[n] for n in sorted(set(after) - set(before))},
        "removed": {n: before[n] for n in sorted(set(before) - set(after))},
        "changed": {
            n: [before[n], after[n]]
            for n in sorted(set(before) & set(after))
            if before[n] != after[n]
        },
    }
