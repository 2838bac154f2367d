"""Tests of the console (the approvals app): review, approvals, notifications, pages."""
