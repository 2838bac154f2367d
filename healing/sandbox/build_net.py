"""Run a bubblewrap command in a network namespace of its own whose only way out is slirp4netns:
the package indexes are reachable, the host's loopback (Selfheal's Redis, database, anything
listening on 127.0.0.1) is not.

    python build_net.py [--no-private] BWRAP_ARGV...   (BWRAP_ARGV has --unshare-net; `--`
                                                        separates its command)

With --no-private (a patched build: setup code Selfheal did not get from the workspace), the
namespace gets unreachable routes for the private, link-local (cloud metadata), shared and
unique-local ranges before its network comes up: the LAN is out of reach too. Unreachable routes
need no device, so they are in before slirp4netns adds the default route the build waits for.

A plain script, no Django: the runner starts it with the build's clean environment. Exits with
bubblewrap's status; slirp4netns dies with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

PRIVATE = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
    "fc00::/7", "fe80::/10",
)  # fmt: skip


def main(argv: list[str]) -> int:
    no_private = bool(argv) and argv[0] == "--no-private"
    if no_private:
        argv = argv[1:]
    info_r, info_w = os.pipe()
    split = argv.index("--")
    argv = [*argv[:split], "--info-fd", str(info_w), *argv[split:]]
    bwrap = subprocess.Popen(argv, pass_fds=(info_w,))  # noqa: S603 - argv is built by Selfheal
    os.close(info_w)
    data = b""
    while True:
        chunk = os.read(info_r, 4096)
        if not chunk:
            break
        data += chunk
        if data.rstrip().endswith(b"}"):
            break
    os.close(info_r)
    slirp = None
    try:
        pid = int(json.loads(data)["child-pid"])
        # bubblewrap reports the pid before its child has set up the namespace's loopback;
        # slirp4netns configuring the same namespace meanwhile makes that setup fail. The
        # child forks the command (it is PID 1 of its own namespace) once it is done.
        _wait_for_child(pid)
        if no_private:
            _block_private(pid)
        slirp = subprocess.Popen(  # noqa: S603
            ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", str(pid),
             "tap0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except (ValueError, KeyError, OSError) as exc:
        print(f"selfheal: no network for the build: {exc}", flush=True)
    except RuntimeError as exc:
        # The LAN would be open: no build at all (the build waits for a network never coming).
        print(f"selfheal: {exc}", flush=True)
        bwrap.kill()
        bwrap.wait()
        return 7
    code = bwrap.wait()
    if slirp is not None:
        slirp.send_signal(signal.SIGTERM)
        slirp.wait()
    return code if code >= 0 else 128 - code


def _block_private(pid: int) -> None:
    """Unreachable routes in the build's namespace, added as the owner of its user namespace
    (the build itself has dropped every capability)."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    enter = ["nsenter", "--preserve-credentials", "-U", "-n", "-t", str(pid), ip]
    for net in PRIVATE:
        family = "-6" if ":" in net else "-4"
        done = subprocess.run(  # noqa: S603
            [*enter, family, "route", "add", "unreachable", net],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if done.returncode != 0 and not (family == "-6" and "not supported" in done.stderr):
            raise RuntimeError(f"cannot close {net} to the build: {done.stderr.strip()}")


def _wait_for_child(pid: int, timeout_s: float = 10.0) -> None:
    children = f"/proc/{pid}/task/{pid}/children"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(children) as fh:
                if fh.read().strip():
                    return
        except OSError:
            return  # gone already, or no such file on this kernel: nothing to wait for
        time.sleep(0.005)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
