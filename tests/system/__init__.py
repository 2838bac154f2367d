"""Tests across the apps: import direction, authorization, end to end, browsers."""
