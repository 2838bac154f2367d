"""Apply one patch of a remote workspace in this process, as a worker with its own var dir does.
The test SIGKILLs the whole process group at a random instant.

Usage: python -m tests.remote_crash_harness <modification id> <mirrors dir>"""

from __future__ import annotations

import os
import sys


def main() -> None:
    modification_id, mirrors = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.SELFHEAL_MIRRORS = mirrors
    from healing.apply import do_apply
    from healing.models import Modification

    do_apply(Modification.objects.get(pk=modification_id))
    print(Modification.objects.get(pk=modification_id).status)


if __name__ == "__main__":
    main()
