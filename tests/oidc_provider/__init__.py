"""A real OpenID Connect provider (django-oidc-provider) that the tests run on loopback, in its
own process with its own settings and SQLite database: `python -m tests.oidc_provider.serve`."""
