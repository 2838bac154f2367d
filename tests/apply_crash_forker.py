"""Many crash trials from one Django start-up: fork a child per trial, which applies (or rolls
back) one modification and SIGKILLs itself at a chosen checkpoint, a random instant after it.

Usage: python -m tests.apply_crash_forker <trials.json> <backup dir>
trials.json: [{"mod": id, "op": "apply" | "rollback", "k": checkpoint index (-1: never),
"delay": seconds after that checkpoint}]. Prints one JSON line per trial:
{"mod": id, "killed": bool, "checkpoints": n (when not killed)}. The parent process only forks
and waits; the child does the work, as a Celery worker process would."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading


def main() -> None:
    trials = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.SELFHEAL_BACKUP_DIR = sys.argv[2]
    from healing.apply import do_apply, do_rollback, landing
    from healing.models import Modification

    for trial in trials:
        connections.close_all()  # the child opens its own connection
        pid = os.fork()
        if pid == 0:
            seen: list[str] = []

            def die() -> None:
                os.kill(os.getpid(), signal.SIGKILL)

            def hook(name: str, trial: dict = trial, seen: list[str] = seen) -> None:
                if len(seen) == trial["k"]:
                    if trial["delay"] <= 0:
                        die()
                    threading.Timer(trial["delay"], die).start()
                seen.append(name)

            landing.STEP_HOOK = hook
            code = 0
            try:
                mod = Modification.objects.select_related("workspace").get(pk=trial["mod"])
                if trial["op"] == "apply":
                    do_apply(mod)
                else:
                    do_rollback(mod, None, "crash trial")
                print(
                    json.dumps({"mod": trial["mod"], "killed": False, "checkpoints": len(seen)}),
                    flush=True,
                )
            except BaseException as exc:  # noqa: BLE001 - reported, the parent checks the result
                print(
                    json.dumps({"mod": trial["mod"], "killed": False, "error": repr(exc)}),
                    flush=True,
                )
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            print(json.dumps({"mod": trial["mod"], "killed": True}), flush=True)


if __name__ == "__main__":
    main()
