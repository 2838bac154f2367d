"""A real worker process for the breaker tests: `python -m tests.judgement_hammer MODE START_FILE IDS...`.

Waits until START_FILE exists (so all processes start together), then for each modification id
records a failed outcome (MODE=outcome) or runs the apply pre-flight (MODE=preflight), or runs the
unblock sweep once (MODE=sweep, no ids), and prints one JSON line with what it did."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    import django

    django.setup()
    from healing.breakers import record_outcome, run_preflight
    from healing.models import Modification

    mode, start_file, ids = sys.argv[1], Path(sys.argv[2]), [int(x) for x in sys.argv[3:]]
    if mode == "preflight":
        # This is about the shared rate limit, not this busy machine's health.
        from healing.contrib import register_health_source
        from tests.judgement_helpers import HEALTHY, install_health_stand_in

        register_health_source("monitoring", install_health_stand_in(HEALTHY))
    deadline = time.monotonic() + 60
    while not start_file.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    counted = 0
    if mode == "sweep":
        from healing.actions.unblock import do_sweep_holds

        counted = sum(len(ids) for ids in do_sweep_holds().values())
    for mod in Modification.objects.filter(pk__in=ids).select_related("workspace").order_by("?"):
        if mode == "outcome":
            counted += bool(record_outcome(mod, success=False, stage="apply"))
        else:
            counted += run_preflight(mod, stage="apply").ok
    print(json.dumps({"pid": os.getpid(), "counted": counted}))


if __name__ == "__main__":
    main()
