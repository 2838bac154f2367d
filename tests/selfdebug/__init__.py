"""Tests of self-debugging: runs, patterns, fixes, search, generated tests."""
