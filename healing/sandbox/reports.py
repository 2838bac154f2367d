"""Per-test results (JUnit XML from pytest, node --test and phpunit) and naming the limit."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - our own sandbox's report, parsed with limits below
from pathlib import Path

from . import TestOutcome

MAX_REPORT_BYTES = 20 * 1024 * 1024


def parse_junit(path: Path) -> list[TestOutcome]:
    if not path.exists() or path.stat().st_size > MAX_REPORT_BYTES:
        return []
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - produced inside the sandbox, size-capped
    except ET.ParseError:
        return []
    outcomes: list[TestOutcome] = []
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        nodeid = f"{classname}::{name}" if classname else name
        outcome, message = "passed", ""
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or child.text or "")[:2000]
                break
        try:
            duration = float(case.get("time") or 0) * 1000
        except ValueError:
            duration = 0.0
        outcomes.append(
            TestOutcome(nodeid=nodeid, outcome=outcome, message=message, duration_ms=duration)
        )
    return outcomes


# What a process sees when an rlimit or a namespace stops it, and which limit that is.
SYMPTOMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "memory",
        (
            "MemoryError",
            "Cannot allocate memory",
            "std::bad_alloc",
            "JavaScript heap out of memory",
        ),
    ),
    (
        "processes",
        (
            "BlockingIOError: [Errno 11]",
            "Resource temporarily unavailable",
            "can't start new thread",
            "fork: retry",
        ),
    ),
    ("file_size", ("File too large", "[Errno 27]")),
    (
        "network",
        (
            "Network is unreachable",
            "[Errno 101]",
            "Temporary failure in name resolution",
            # Nothing outside the sandbox is reachable: under FULL, the loopback of its own
            # network namespace is up but nobody listens there.
            "Connection refused",
            "[Errno 111]",
        ),
    ),
    ("filesystem", ("Read-only file system", "[Errno 30]")),
)


def infer_limit(text: str) -> str | None:
    for limit, needles in SYMPTOMS:
        if any(needle in text for needle in needles):
            return limit
    return None
