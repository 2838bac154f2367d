"""Run one apply in this process and SIGKILL ourselves at checkpoint k (or never: k < 0).

Usage: python -m tests.apply_crash_harness <modification id> <k> <backup dir>
Prints the number of checkpoints passed when it was not killed."""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    modification_id, k, backup_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.SELFHEAL_BACKUP_DIR = backup_dir
    from healing.apply import do_apply, landing
    from healing.models import Modification

    seen: list[str] = []

    def hook(name: str) -> None:
        if len(seen) == k:
            os.kill(os.getpid(), signal.SIGKILL)
        seen.append(name)

    landing.STEP_HOOK = hook
    do_apply(Modification.objects.get(pk=modification_id))
    print(len(seen))


if __name__ == "__main__":
    main()
