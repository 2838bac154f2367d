"""The one way Selfheal runs `git apply`: validation, the sandbox and the apply all build their
argv here, so that what was judged is read by git exactly as what is tested and what lands
(same strip level, same whitespace handling, renames and copies as git reads them)."""

from __future__ import annotations

# git's a/ and b/ prefixes; a diff without them is refused by validation, never re-read at -p0.
STRIP = 1


def apply_args(
    *, cached: bool = False, check: bool = False, reverse: bool = False, numstat: bool = False
) -> list[str]:
    """`apply ... -` (the diff on stdin), without the leading `git`/`-C repo`. `numstat`: how git
    reads each section (lines added, removed, path); nothing applied unless `cached` is given too,
    when the same run also writes the index (git's --apply)."""
    return [
        "apply",
        f"-p{STRIP}",
        "--whitespace=nowarn",
        *(["--cached"] if cached else []),
        *(["--check"] if check else []),
        *(["--numstat", "-z"] if numstat else []),
        *(["--apply"] if numstat and cached else []),
        *(["-R"] if reverse else []),
        "-",
    ]


def apply_argv(**options: bool) -> list[str]:
    return ["git", *apply_args(**options)]


def stdin_of(diff: str) -> str:
    """git apply needs the last line terminated."""
    return diff if diff.endswith("\n") else diff + "\n"
