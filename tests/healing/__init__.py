"""Tests of the healing app: intake, validation, sandbox, judgement, apply, breakers."""
