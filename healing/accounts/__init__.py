"""Signing in: local accounts with a failed-login throttle, and OpenID Connect."""
