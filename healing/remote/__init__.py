"""Remote workspaces: a bare mirror per worker, landing by push / branch / pull request through a
forge adapter. Credentials are read by reference when git or the forge needs them, never stored."""
