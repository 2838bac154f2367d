"""The buggy programs are data for the diagnostics corpus, not tests of Selfheal."""

collect_ignore_glob = ["*"]
