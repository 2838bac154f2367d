"""selfheal-client: submit patches to a Selfheal server and wait for its decision.

from selfheal_client import SelfhealClient

with SelfhealClient("https://selfheal.example.org", token) as client:
    patch = client.wait(client.submit(diff, workspace="shop").id, timeout=600)
    print(patch.status, patch.safety_level, patch.reason, patch.review_url)
"""

__version__ = "0.1.0"

from .client import (  # noqa: E402 - client.py reads __version__
    DECISIONS,
    ApiError,
    Patch,
    SelfhealClient,
    SelfhealError,
    Unreachable,
    UsageError,
    WaitTimeout,
    build_envelope,
)

__all__ = [
    "DECISIONS",
    "ApiError",
    "Patch",
    "SelfhealClient",
    "SelfhealError",
    "Unreachable",
    "UsageError",
    "WaitTimeout",
    "build_envelope",
    "__version__",
]
