"""`make run`: set up, then run the ASGI server, two Celery workers (one for the patch queue, one
for the background queue) and Celery beat (and the embedded
Redis unless REDIS_URL is set) until Ctrl-C, then stop them all. No orphans: every child runs in a
process group of its own and the whole group is signalled."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import embedded_redis
from .celery_queues import BACKGROUND_QUEUE, PATCH_QUEUE
from .env import BASE_DIR, env, uses_embedded_redis, var_dir

PYTHON = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


class Launcher:
    def __init__(self) -> None:
        self.var = var_dir()
        self.logs = self.var / "log"
        self.logs.mkdir(exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def spawn(self, name: str, args: list[str]) -> None:
        log_path = self.logs / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            args, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))
        print(f"  {name:<7} pid {process.pid:<7} log {log_path}")

    def start(self) -> None:
        port = env.int("SELFHEAL_PORT", default=8000)
        host = env.str("SELFHEAL_HOST", default="127.0.0.1")
        if uses_embedded_redis():
            socket = embedded_redis_socket_path()
            print(f"Starting the embedded Redis on {socket}")
            self.redis = embedded_redis.start(socket, log_path=self.logs / "redis.log")
        print("Migrating the database, collecting static files, seeding the demo")
        manage("migrate", "--noinput", "-v", "0")
        manage("recover_applies")  # finish or undo any apply a crash interrupted
        manage("collectstatic", "--noinput", "-v", "0")
        manage("ensure_admin")
        manage("seed_demo")
        manage("seed_demo_telemetry")
        print(f"Starting Selfheal on http://{host}:{port}")
        self.spawn(
            "web",
            [PYTHON, "-m", "daphne", "-b", host, "-p", str(port), "selfheal_site.asgi:application"],
        )
        # Two workers: patches never wait behind diagnostics, scheduled runs or housekeeping.
        self.spawn("patches", worker_args(PATCH_QUEUE, "SELFHEAL_PATCH_WORKER_CONCURRENCY"))
        self.spawn("worker", worker_args(BACKGROUND_QUEUE, "SELFHEAL_WORKER_CONCURRENCY"))
        self.spawn(
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "selfheal_site",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(self.var / "celerybeat-schedule"),
                "--pidfile",
                "",
            ],
        )
        print(f"Selfheal is up: http://{host}:{port}  (Ctrl-C stops everything)")

    def watch(self) -> int:
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}. Stopping."
                    )
                    return 1
            if self.redis is not None and self.redis.poll() is not None:
                print("The embedded Redis exited; stopping.")
                return 1
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        self.stopping = True
        for _name, process in reversed(self.children):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in time; killing it")
                _signal_group(process, signal.SIGKILL)
                process.wait()
            _signal_group(process, signal.SIGKILL)  # anything its group left behind
        if self.redis is not None:
            embedded_redis.stop(self.redis)
        print("Selfheal stopped; no process left behind.")


def worker_args(queue: str, concurrency_var: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "selfheal_site",
        "worker",
        "-l",
        "info",
        "-Q",
        queue,
        "--concurrency",
        str(env.int(concurrency_var, default=2)),
        "-n",
        f"{queue}@%h",
    ]


def embedded_redis_socket_path() -> Path:
    from .env import embedded_redis_socket

    return embedded_redis_socket()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def main() -> int:
    launcher = Launcher()

    def on_signal(signum: int, frame: object) -> None:
        launcher.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        launcher.start()
        code = launcher.watch()
    except subprocess.CalledProcessError as exc:
        print(f"Setup step failed: {exc}")
        code = 1
    finally:
        launcher.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
