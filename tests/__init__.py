"""Selfheal's tests, one folder per app: healing/, monitoring/, console/ (the approvals app),
selfdebug/ (self-debugging) and system/ (across the apps: import direction, authorization,
end to end, browsers, failing services). Personas and shared fixtures are in conftest.py;
factories, *_helpers.py, the harness scripts and the corpora stay here, beside it.
`python -m tests.move_tests` files a new top-level test_*.py into its folder."""
