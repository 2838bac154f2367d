"""Tests of the monitoring app: telemetry, health, the healing loop, its console."""
