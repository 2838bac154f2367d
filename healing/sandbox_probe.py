"""What isolation this machine can give. The sandbox refuses to downgrade silently; the demo
workspace asks for the best level there is and says which one it got."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache


def bubblewrap_works() -> tuple[bool, str]:
    """Cached once it works. A failure is probed again on the next call: bubblewrap may be
    installed meanwhile, and the patches blocked on FULL isolation resume when it is."""
    result = _probe()
    if not result[0]:
        _probe.cache_clear()
    return result


@lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bubblewrap is not installed (apt-get install bubblewrap)"
    try:
        out = subprocess.run(
            [
                bwrap,
                "--unshare-all",
                "--die-with-parent",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "true",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if out.returncode != 0:
        return False, f"bubblewrap cannot create namespaces here: {out.stderr.strip()[:200]}"
    return True, "bubblewrap works"


def best_isolation_level() -> tuple[str, str]:
    ok, why = bubblewrap_works()
    return ("full", why) if ok else ("partial", why)


# After _probe, so its type is known; mypy has no notion of attributes set on a function.
bubblewrap_works.cache_clear = lambda: _probe.cache_clear()  # type: ignore[attr-defined]
