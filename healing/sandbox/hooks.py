"""Registration at start-up: the sandbox's emergency-stop hook."""

from __future__ import annotations

from ..actions.emergency_stop import on_emergency_stop
from .stop import signal_stop

on_emergency_stop(signal_stop)
