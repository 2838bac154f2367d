"""A small demo repository so a fresh console is not empty. It carries one real bug."""

from __future__ import annotations

import subprocess
from pathlib import Path

FILES: dict[str, str] = {
    "README.md": "# Demo workspace\n\nA tiny library that Selfheal guards in the demo. `stats.mean([])` has a bug.\n",
    "stats.py": '''"""Small statistics helpers."""


def mean(values):
    """Arithmetic mean; an empty sequence has mean 0.0."""
    return sum(values) / len(values)


def clamp(value, low, high):
    """Clamp value into [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def median(values):
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of an empty sequence")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
''',
    "tests/__init__.py": "",
    "tests/test_stats.py": """from stats import clamp, mean, median


def test_mean():
    assert mean([1, 2, 3]) == 2


def test_mean_of_nothing_is_zero():
    assert mean([]) == 0.0


def test_clamp():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0


def test_median():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
""",
    "pytest.ini": "[pytest]\ntestpaths = tests\n",
}


def git(path: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return out.stdout


def create_demo_repo(path: Path) -> Path:
    """Create the demo repository at `path` (idempotent: an existing repository is left alone)."""
    if (path / ".git").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Selfheal demo")
    git(path, "config", "user.email", "demo@selfheal.invalid")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Demo library with a known bug in mean([])")
    return path
