"""Registrations at start-up: the sandbox's tunables and its emergency-stop hook."""

from __future__ import annotations

from ..actions.emergency_stop import on_emergency_stop
from . import limits  # noqa: F401 - registers the sandbox.* tunables
from .stop import signal_stop

on_emergency_stop(signal_stop)
