"""Real open-source projects for the environment tests: a pinned sdist from PyPI (cached under
var/test-downloads between runs), made into a git repository with a bug of our own as HEAD."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from healing.actions import do_change_setting
from tests import factories
from tests.intake_helpers import envelope, wait_for_patch

DOWNLOADS = Path(__file__).resolve().parent.parent / "var" / "test-downloads"

# python-slugify 5.0.2: its sdist ships test.py (8.x ships no tests); the tests import
# text-unidecode, which Selfheal's own environment does not have.
SLUGIFY = ("python-slugify", "5.0.2")
SLUGIFY_REQUIREMENTS = "text-unidecode==1.3\n"
# The bug we inject: slugs are no longer lowercased. Its inverse is the correct fix.
SLUGIFY_BUG = ("    if lowercase:\n        text = text.lower()\n",
               "    if not lowercase:\n        text = text.lower()\n")  # fmt: skip
# A wrong fix: lowercases, but also strips every digit.
SLUGIFY_WRONG = (SLUGIFY_BUG[1], "    if lowercase:\n        text = text.lower()\n"
                 "    text = ''.join(c for c in text if not c.isdigit())\n")  # fmt: skip


def sdist(name: str, version: str) -> Path:
    """The source distribution, downloaded from PyPI once and cached."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    found = sorted(DOWNLOADS.glob(f"{name}-{version}.tar.gz"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"{name}=={version}", "-d", str(DOWNLOADS)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        found = sorted(DOWNLOADS.glob(f"{name}-{version}.tar.gz"))
    return found[0]


def released_repo(path: Path, name: str, version: str, requirements: str) -> Path:
    """A git repository of the released source with a requirements.txt, one commit."""
    with tarfile.open(sdist(name, version)) as archive:
        archive.extractall(path.parent, filter="data")
    (path.parent / f"{name}-{version}").rename(path)
    factories.make_git_repo(path, {"requirements.txt": requirements})
    return path


def edit_diff(repo: Path, rel: str, old: str, new: str) -> str:
    """The diff of replacing `old` by `new` in `rel` (the tree is left as it was)."""
    target = repo / rel
    before = target.read_text()
    assert old in before, f"{old!r} is not in {rel}"
    target.write_text(before.replace(old, new, 1))
    diff = factories.git(repo, "diff", "--", rel)
    target.write_text(before)
    return diff


def commit_edit(repo: Path, rel: str, old: str, new: str, message: str) -> str:
    """Commit the edit as HEAD; returns its diff."""
    diff = edit_diff(repo, rel, old, new)
    subprocess.run(["git", "-C", str(repo), "apply", "-"], input=diff, text=True, check=True)
    factories.git(repo, "commit", "-qam", message)
    return diff


# left-pad 1.3.0 from npm: its package ships test.js, which needs tape and fast-check.
LEFTPAD = ("left-pad", "1.3.0")
# The bug we inject: the cached padding is one space short.
LEFTPAD_BUG = ("return cache[len] + str;", "return cache[len - 1] + str;")
LEFTPAD_WRONG = (LEFTPAD_BUG[1], "return cache[len + 1] + str;")


def npm_release_repo(path: Path, name: str, version: str) -> Path:
    """A git repository of the npm package, with a package-lock.json (made once, cached beside
    the tarball, so every run installs the same tree with `npm ci`)."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    tarball = DOWNLOADS / f"{name}-{version}.tgz"
    lock = DOWNLOADS / f"{name}-{version}.package-lock.json"
    if not tarball.exists():
        subprocess.run(["npm", "pack", f"{name}@{version}", "-q"], cwd=DOWNLOADS, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    with tarfile.open(tarball) as archive:
        archive.extractall(path.parent / "npm-extract", filter="data")
    (path.parent / "npm-extract" / "package").rename(path)
    if not lock.exists():
        subprocess.run(["npm", "install", "--package-lock-only", "--ignore-scripts", "-q"],
                       cwd=path, check=True, capture_output=True, timeout=300)  # fmt: skip
        lock.write_text((path / "package-lock.json").read_text())
    files = {"package-lock.json": lock.read_text(), ".gitignore": "node_modules/\n"}
    factories.make_git_repo(path, files)
    return path


FINAL = {"applied", "rejected", "failed", "rolled_back", "cancelled"}


def allow_slow_builds(admin: Any) -> None:
    """No health watch after applying, and room for a real project's tests on a shared machine."""
    do_change_setting(admin, "apply.health_window_s", 0, "test: no health watch")
    do_change_setting(admin, "sandbox.wall_time_s", 120, "test: a slow shared machine")


def submit(bot: Any, patch_id: str, workspace: str, language: str, diff: str) -> int:
    """A confident logic fix, posted by `bot` over the API; its id."""
    body = envelope(
        diff,
        patch_id=patch_id,
        workspace=workspace,
        language=language,
        confidence_scoring={"logits": [6.0, 0.1, 0.1]},
    )
    response = bot.post("/api/v1/patches/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def rejected_then_approved(
    bot: Any, api_as: Any, ids: dict[str, int], reviewers: tuple[Any, ...], timeout: float
) -> dict[str, Any]:
    """Waits for ids["wrong"] to be rejected, then approves ids["correct"] as each reviewer in
    turn while it awaits approval; the correct fix's last state."""
    wrong = wait_for_patch(bot, ids["wrong"], FINAL, timeout, interval=0.5)
    assert wrong["status"] == "rejected", wrong
    deciding = FINAL | {"awaiting_approval"}
    body = wait_for_patch(bot, ids["correct"], deciding, timeout, interval=0.5)
    for person in reviewers:
        if body["status"] != "awaiting_approval":
            break
        api_as(person).post(f"/api/v1/patches/{ids['correct']}/approve/", {}, format="json")
        body = wait_for_patch(bot, ids["correct"], deciding, 60, interval=0.5)
    return body
