"""Run a command with only the scratch tree, its reports and a private /tmp writable (PARTIAL).

Started as PID 1 of the run's own mount, network and PID namespaces (see backends.py), with
privileges in them, and run by the interpreter alone (`python -I -S`, standard library only),
before anything of the workspace. It
1. mounts the overlay of the scratch tree, if any;
2. lays an empty tmpfs over every directory the tests must not reach (Selfheal's project and var
   dirs, the database, the repository, /root, /home, /run, /tmp…), then binds back the scratch
   root (writable) and the toolchain (read-only) at their own paths;
3. makes every mount read-only except the scratch root, the private /tmp and /dev/shm;
4. enters a nested user namespace where its uid is unmapped (65534 inside) and every capability
   is lost at exec, with no_new_privs: the tests can neither undo the mounts nor gain
   privileges back;
5. execs the command.

Any failure exits 125 before the command runs: the run is never started less isolated.

Usage: python -I -S confine.py SPEC_JSON -- COMMAND...
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import warnings  # noqa: F401 - os.execvp imports it lazily, when the stdlib may be out of reach

MS_BIND = 4096
MS_REC = 16384
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
NR_MOUNT_SETATTR = 442  # the same number on every architecture since Linux 5.12
CLONE_NEWUSER = 0x10000000
PR_SET_NO_NEW_PRIVS = 38

libc = ctypes.CDLL(None, use_errno=True)


class MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    _check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def read_only(path: str, ro: bool, recursive: bool) -> None:
    attr = MountAttr(MOUNT_ATTR_RDONLY if ro else 0, 0 if ro else MOUNT_ATTR_RDONLY, 0, 0)
    _check(
        libc.syscall(
            ctypes.c_long(NR_MOUNT_SETATTR),
            ctypes.c_int(AT_FDCWD),
            ctypes.c_char_p(path.encode()),
            ctypes.c_uint(AT_RECURSIVE if recursive else 0),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
        ),
        f"mount_setattr {path}",
    )


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def confine(spec: dict) -> None:
    if spec.get("overlay"):
        mount("overlay", spec["tree"], "overlay", 0, spec["overlay"])
    keep_rw: list[str] = spec["keep_rw"]
    keep_ro: list[str] = spec["keep_ro"]
    # Held open before the hiding: what is bound back comes from these, not from a path.
    fds = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in [*keep_rw, *keep_ro]}
    hidden: list[str] = []
    # A link is not mounted over: its target is (the link itself then leads into the tmpfs).
    never = {"/", "/usr", "/etc", "/proc", "/dev"}
    targets = {os.path.realpath(p) for p in spec["hide"]} - never
    private_tmp = os.path.realpath(spec["private_tmp"])
    for path in sorted(targets, key=len):
        if any(_under(path, h) for h in hidden) or not os.path.isdir(path):
            continue
        private = path == private_tmp
        mount("tmpfs", path, "tmpfs", 0, "mode=1777,size=256m" if private else "mode=0755,size=1m")
        hidden.append(path)
    for path, fd in fds.items():
        # A writable path is always a mount of its own, so that its read-write flag is its own.
        if path in keep_rw or any(_under(path, h) for h in hidden):
            os.makedirs(path, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        os.close(fd)
    for path, target in spec["symlinks"]:
        if any(_under(path, h) for h in hidden) and not os.path.lexists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(target, path)
    read_only("/", True, recursive=True)
    for path in keep_rw:
        read_only(path, False, recursive=True)
    if private_tmp in hidden:
        read_only(private_tmp, False, recursive=False)
    shm = "/dev/shm"  # noqa: S108 - the host's is replaced by one of the run's own
    if os.path.isdir(shm):
        mount("tmpfs", shm, "tmpfs", 0, "mode=1777,size=64m")
    os.chdir(spec["tree"])
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # A user namespace of its own, where no uid is mapped: uid 65534, and every capability over
    # the mounts above (they belong to the parent namespace) is gone at exec.
    _check(libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: confine.py SPEC_JSON -- COMMAND...\n")
        os._exit(125)
    try:
        confine(json.loads(argv[1]))
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"sandbox: cannot confine the run: {exc}\n")
        os._exit(125)
    os.execvp(argv[3], argv[3:])  # noqa: S606 - the backend's argv, never a shell string


if __name__ == "__main__":
    main(sys.argv)
