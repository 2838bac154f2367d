"""Circuit breakers, the shared rate limit and pre-flight checks.

    run_preflight(mod, stage="intake"|"apply") -> PreflightResult   (also stored on mod.preflight[stage])
    record_outcome(mod, success=..., stage="sandbox"|"apply"|"verify"|"rollback", actor=None)
    note_application(mod)
    console_summary() / breakers_json()   (the dashboard panel, the API)

State lives in database rows changed under row locks (see dual.py and engine_breaker.py), never in
process memory, so every worker and web process sees the same breakers.
"""

from __future__ import annotations

from .outcomes import note_application, record_outcome
from .preflight import CHECKS, PreflightCheck, register_check, run_preflight
from .results import CheckResult, PreflightResult
from .summary import breakers_json, console_summary

__all__ = [
    "CHECKS",
    "CheckResult",
    "PreflightCheck",
    "PreflightResult",
    "breakers_json",
    "console_summary",
    "note_application",
    "record_outcome",
    "register_check",
    "run_preflight",
]
