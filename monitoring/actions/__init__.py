"""Every state change of the monitoring area, as named transactional actions.

`snapshots` holds telemetry and health snapshots, baselines and roll-ups; `loop` the healing
loop, its attempts and code fitness. Import from here."""

from .loop import (
    LOOP_ACTOR,
    applied_at,
    build_context,
    do_compute_fitness,
    do_execute_attempt,
    do_reject_attempt,
    do_run_healing_cycle,
    do_set_loop_interval,
    do_start_loop,
    do_stop_loop,
)
from .snapshots import (
    claim_schedule,
    do_ingest_snapshots,
    do_rollup_telemetry,
    do_set_baseline,
    do_take_system_snapshot,
)

__all__ = [
    "LOOP_ACTOR",
    "applied_at",
    "build_context",
    "claim_schedule",
    "do_compute_fitness",
    "do_execute_attempt",
    "do_ingest_snapshots",
    "do_reject_attempt",
    "do_rollup_telemetry",
    "do_run_healing_cycle",
    "do_set_baseline",
    "do_set_loop_interval",
    "do_start_loop",
    "do_stop_loop",
    "do_take_system_snapshot",
]
