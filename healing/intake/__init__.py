"""Patch intake and the validation pipeline (issue #3). See docs/architecture.md."""
