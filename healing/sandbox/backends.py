"""Isolation backends: one interface, a registry, and no silent downgrade.

FULL     bubblewrap: own user, PID, network, IPC and UTS namespaces; only the scratch tree and a
         reports directory are writable; the toolchain is bound read-only; home, the project, its
         database, var dir and secrets are absent; a clean environment; uid 65534 inside.
PARTIAL  `unshare`: own network, PID and mount namespaces, rlimits and a clean environment; the
         file system is confined by confine.py (Selfheal's project, var dir, database, sockets,
         the repository, /root, /home, /run and /tmp under empty tmpfs; everything read-only but
         the scratch root and a private /tmp), and the tests run unprivileged. Unavailable
         (never weaker) where the kernel refuses the mount namespace.
NONE     the test command runs directly with the rlimits and a clean environment. Admin-only.
         Where the kernel allows, in a PID namespace of its own (with a fresh /proc), only so that
         nothing it starts outlives the run and the worker's /proc is out of its sight.

Each backend also says how its scratch tree is prepared (`prepare`, see scratch.py): FULL binds
a cached checkout read-only; PARTIAL and NONE mount it as the lower layer of an overlay in a
mount namespace of their own; where the kernel allows no overlay, a git worktree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from ..sandbox_probe import bubblewrap_works
from .scratch import (
    Scratch,
    mount_and_run,
    mounted_tree,
    namespace_prefix,
    overlay_supported,
    overlay_tree,
)


class IsolationBackend:
    level: ClassVar[str]
    label: ClassVar[str]

    def available(self) -> tuple[bool, str]:
        raise NotImplementedError

    def prepare(
        self, repo: Path, commit: str, diff: str | None = None
    ) -> AbstractContextManager[Scratch]:
        """The scratch tree of `commit` with `diff` applied, removed on exit."""
        return overlay_tree(repo, commit, diff)

    def wrap(self, argv: list[str], *, scratch: Scratch, env: dict[str, str]) -> list[str]:
        """The command line that runs `argv` isolated in `scratch.tree`; paths seen inside are
        the same as outside."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        ok, why = self.available()
        return {"level": self.level, "label": self.label, "available": ok, "detail": why}


REGISTRY: dict[str, IsolationBackend] = {}


def register(backend: type[IsolationBackend]) -> type[IsolationBackend]:
    REGISTRY[backend.level] = backend()
    return backend


def get_backend(level: str) -> IsolationBackend:
    try:
        return REGISTRY[level]
    except KeyError:
        raise KeyError(f"no isolation backend {level!r}") from None


def _toolchain_paths() -> list[str]:
    """Directories the test command needs read-only: the interpreter, its venv, /usr."""
    paths = {
        str(Path(sys.prefix)),
        str(Path(sys.prefix).resolve()),
        str(Path(sys.base_prefix).resolve()),
    }
    return sorted(p for p in paths if not p.startswith(("/usr", "/bin", "/lib")))


ETC_FILES = (
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/ssl",
    "/etc/alternatives",
    "/etc/mime.types",
    "/etc/php",  # Debian's PHP loads its extensions (dom, mbstring, xml…) from conf.d here
)


@register
class FullIsolation(IsolationBackend):
    level = "full"
    label = "Full (bubblewrap)"

    def available(self) -> tuple[bool, str]:
        ok, why = bubblewrap_works()
        if not ok:
            return ok, why
        if _bwrap_on_overlay()[0]:
            return ok, f"{why}; scratch tree: overlay of the cached checkout (writable)"
        return ok, f"{why}; scratch tree: cached checkout, read-only, patched files bound over it"

    def prepare(
        self, repo: Path, commit: str, diff: str | None = None
    ) -> AbstractContextManager[Scratch]:
        # Where bubblewrap can run inside the overlay's namespace, the tree is writable and a
        # diff that adds or deletes files needs no worktree; otherwise, read-only binds.
        return (overlay_tree if _bwrap_on_overlay()[0] else mounted_tree)(repo, commit, diff)

    def wrap(self, argv: list[str], *, scratch: Scratch, env: dict[str, str]) -> list[str]:
        cmd = self._bwrap(argv, scratch=scratch, env=env)
        if scratch.overlay is not None:
            # The overlay is mounted in a namespace of our own, and bubblewrap started inside it.
            return [*namespace_prefix(), *mount_and_run(scratch, cmd)]
        return cmd

    def _bwrap(self, argv: list[str], *, scratch: Scratch, env: dict[str, str]) -> list[str]:
        bwrap = shutil.which("bwrap") or "bwrap"
        cmd = [
            bwrap,
            "--unshare-all",
            "--unshare-user",
            # Not root inside: the tests run as nobody in their namespaces.
            "--uid",
            str(NOBODY),
            "--gid",
            str(NOBODY),
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
            "--clearenv",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/sbin",
            "/sbin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",  # noqa: S108 - a fresh tmpfs inside the sandbox
            "--dir",
            "/var/tmp",  # noqa: S108 - inside the sandbox
        ]
        for path in ETC_FILES:
            cmd += ["--ro-bind-try", path, path]
        for path in _toolchain_paths():
            cmd += ["--ro-bind", path, path]
        if scratch.overlay is not None:
            # Not the whole root: the overlay's upper and work directories stay out of reach.
            for mount in (scratch.tree, scratch.reports, scratch.home, scratch.tmp):
                cmd += ["--bind", str(mount), str(mount)]
        else:
            cmd += ["--bind", str(scratch.root), str(scratch.root)]
        for source, target in scratch.binds:
            cmd += ["--ro-bind", str(source), str(target)]
        # Nothing but the binds above and the private /tmp is writable, not even bwrap's own root.
        cmd += ["--remount-ro", "/", "--chdir", str(scratch.tree)]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return [*cmd, "--", *argv]


NOBODY = 65534
CONFINE = Path(__file__).with_name("confine.py")
# Always hidden under PARTIAL (the per-run ones, project, var dir, database, repository, are
# added by `_hidden`); /tmp comes back as the run's private /tmp.
HIDDEN = ("/root", "/home", "/run", "/tmp", "/var/tmp", "/mnt", "/media", "/srv")  # noqa: S108


@lru_cache(maxsize=1)
def _unshare_flags() -> tuple[list[str], str]:
    """PARTIAL's `unshare`: user, network, PID and mount namespaces, probed once with
    confine.py."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return [], "unshare is not installed"
    common = ["--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"]
    flags = [unshare, "--user", "--map-root-user", *common]
    spec = {
        "overlay": None,
        "tree": "/",
        "hide": list(HIDDEN),
        "keep_rw": [],
        "keep_ro": _toolchain_dirs(),
        "symlinks": [(p, os.readlink(p)) for p in _toolchain_paths() if os.path.islink(p)],
        "private_tmp": "/tmp",  # noqa: S108
    }
    try:
        out = subprocess.run(
            [*flags, *_confine(spec), "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"unshare failed: {exc}"
    if out.returncode != 0:
        return [], f"the kernel refuses the namespaces: {out.stderr.decode(errors='replace')[:200]}"
    return flags, "own network, PID and mount namespaces; file system confined; unprivileged"


def _confine(spec: Mapping[str, object]) -> list[str]:
    # -I -S: nothing of the environment, the current directory or site-packages is imported.
    return [sys.executable, "-I", "-S", str(CONFINE), json.dumps(spec), "--"]


def _toolchain_dirs() -> list[str]:
    return [p for p in _toolchain_paths() if not os.path.islink(p)]


def _hidden(scratch: Scratch) -> list[str]:
    """Everything of Selfheal's a test must not reach, whatever the paths are configured to."""
    from django.conf import settings

    paths = [*HIDDEN, str(settings.BASE_DIR), str(settings.VAR_DIR)]
    cache = getattr(settings, "SELFHEAL_SANDBOX_CACHE", None)
    if cache:
        paths.append(str(cache))
    db = settings.DATABASES["default"]
    if "sqlite" in db.get("ENGINE", "") and str(db.get("NAME", ":memory:")).startswith("/"):
        paths.append(str(Path(db["NAME"]).parent))
    redis = os.environ.get("SELFHEAL_REDIS_SOCKET")
    if redis:
        paths.append(str(Path(redis).parent))
    if scratch.repo is not None:
        paths.append(str(scratch.repo.resolve()))
    # Both the configured path and where it leads: a link (a deployment's /srv/selfheal ->
    # /opt/selfheal-1.2) must not leave its target in view.
    paths += [os.path.realpath(p) for p in paths]
    # Never a parent of the toolchain's system part (/usr) or of / itself.
    return sorted({p for p in paths if p not in {"/", "/usr", "/etc", "/proc", "/dev"}})


@lru_cache(maxsize=1)
def _bwrap_on_overlay() -> tuple[bool, str]:
    """Whether bubblewrap runs inside the user and mount namespace that holds an overlay (a
    nested user namespace): probed once, with a real overlay and a real bwrap."""
    if not (overlay_supported()[0] and bubblewrap_works()[0]):
        return False, "no overlay or no bubblewrap"
    import tempfile

    from .scratch import overlay_options, remove_tree

    probe = Path(tempfile.mkdtemp(prefix="ovl-"))
    try:
        options = overlay_options(probe / "lower", probe / "upper", probe / "work")
        scratch = Scratch.under(probe, "lower", "upper", "work", overlay=options)
        (probe / "lower" / "probe").write_text("lower\n")
        argv = ["/bin/sh", "-c", "echo upper >> probe && cat probe"]
        cmd = FullIsolation().wrap(argv, scratch=scratch, env={"PATH": "/usr/bin:/bin"})
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, str(exc)
        ok = out.returncode == 0 and out.stdout.split() == ["lower", "upper"]
        return ok, "" if ok else out.stderr.strip()[:200]
    finally:
        remove_tree(probe)


@register
class PartialIsolation(IsolationBackend):
    level = "partial"
    label = "Partial (namespaces, confined file system)"

    def available(self) -> tuple[bool, str]:
        flags, why = _unshare_flags()
        if not flags:
            return False, f"PARTIAL needs its own mount, PID and network namespaces: {why}"
        return True, f"rlimits and a clean environment; {why}; scratch tree: {_tree_strategy()}"

    def prepare(
        self, repo: Path, commit: str, diff: str | None = None
    ) -> AbstractContextManager[Scratch]:
        return overlay_tree(repo, commit, diff)

    def wrap(self, argv: list[str], *, scratch: Scratch, env: dict[str, str]) -> list[str]:
        spec = {
            "overlay": scratch.overlay,
            "tree": str(scratch.tree),
            "hide": _hidden(scratch),
            "keep_rw": [str(scratch.root)],
            # The project's environment (and the interpreter it points at), wherever it lives.
            "keep_ro": sorted({*_toolchain_dirs(), *(str(s) for s, t in scratch.binds if s == t)}),
            "symlinks": [(p, os.readlink(p)) for p in _toolchain_paths() if os.path.islink(p)],
            "private_tmp": "/tmp",  # noqa: S108 - a fresh tmpfs inside the run's namespace
        }
        return [*_unshare_flags()[0], *_confine(spec), *argv]


@lru_cache(maxsize=1)
def _reaper_flags() -> list[str]:
    """NONE's `unshare`: a PID namespace (and a fresh /proc) only, so that whatever the run
    starts dies with it, detached or not; a mount namespace for the overlay."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    flags = [
        unshare,
        "--user",
        "--map-root-user",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ]
    try:
        out = subprocess.run([*flags, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return flags if out.returncode == 0 else []


@register
class NoIsolation(IsolationBackend):
    level = "none"
    label = "NONE — no isolation (admin only, dangerous)"

    def available(self) -> tuple[bool, str]:
        reaper = "own PID namespace" if _reaper_flags() else "no PID namespace"
        return (
            True,
            "NO ISOLATION: tests run directly on this machine (rlimits, a clean environment and "
            f"{reaper} only); scratch tree: {_tree_strategy()}",
        )

    def wrap(self, argv: list[str], *, scratch: Scratch, env: dict[str, str]) -> list[str]:
        reaper = _reaper_flags()
        if scratch.overlay is not None:
            # Only the namespaces the overlay and the reaping need: no isolation is implied.
            return [*(reaper or namespace_prefix()), *mount_and_run(scratch, argv)]
        return [*reaper, *argv]


def _tree_strategy() -> str:
    ok, why = overlay_supported()
    if ok:
        return why
    return "git worktree (costs the repository)" + ("" if ok else f": {why}")


def capabilities() -> dict[str, object]:
    """What this machine can give, for /healthz and the dashboard."""
    levels = {level: backend.describe() for level, backend in REGISTRY.items()}
    best = next((lvl for lvl in ("full", "partial", "none") if levels[lvl]["available"]), "none")
    return {"best": best, "levels": levels}
