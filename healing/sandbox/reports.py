"""Per-test results (JUnit XML from pytest, node --test and phpunit) and naming the limit."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET  # noqa: S405 - our own sandbox's report, parsed with limits below
from pathlib import Path

from . import TestOutcome

MAX_REPORT_BYTES = 20 * 1024 * 1024


MAX_TRACEBACK_CHARS = 64 * 1024


def parse_junit(path: Path) -> list[TestOutcome]:
    if not path.exists() or path.stat().st_size > MAX_REPORT_BYTES:
        return []
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - produced inside the sandbox, size-capped
    except ET.ParseError:
        return []
    outcomes: list[TestOutcome] = []
    for case in root.iter("testcase"):
        if any(child.tag == "testcase" for child in case):
            continue  # node's describe() block: its tests are listed on their own
        outcomes.append(_outcome(case, path.name))
    return outcomes


def _outcome(case: ET.Element, report: str) -> TestOutcome:
    classname = case.get("classname", "")
    name = case.get("name", "")
    nodeid = f"{classname}::{name}" if classname else name
    outcome, message, traceback = "passed", "", ""
    for child in case:
        if child.tag in {"failure", "error", "skipped"}:
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
            message = (child.get("message") or child.text or "")[:2000]
            if child.tag != "skipped":
                traceback = (child.text or "")[:MAX_TRACEBACK_CHARS]
            break
    try:
        duration = float(case.get("time") or 0) * 1000
    except ValueError:
        duration = 0.0
    file = case.get("file")
    return TestOutcome(
        nodeid=nodeid,
        outcome=outcome,
        message=message,
        duration_ms=duration,
        traceback=traceback,
        test_id=pytest_node_id(file, classname, name) if file else "",
        name=name,
        report=report,
    )


def pytest_node_id(file: str, classname: str, name: str) -> str:
    """pytest's own id of a test, from its xunit1 report (which names the file)."""
    if not classname:
        return file  # a collection error: the whole module failed to load
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    klass = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    parts = [file, *(klass.split(".") if klass else []), name]
    return "::".join(p for p in parts if p)


MAX_COVERAGE_BYTES = 20 * 1024 * 1024


def parse_coverage_json(path: Path) -> tuple[float | None, dict[str, float]]:
    """coverage.py's JSON report: (percent of the whole run, percent per file). Read with no
    symlink followed and a size cap: the tests ran in the directory that holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None, {}
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_COVERAGE_BYTES:
            return None, {}
        raw = fh.read(MAX_COVERAGE_BYTES + 1)
    try:
        data = json.loads(raw)
        total = round(float(data["totals"]["percent_covered"]), 2)
        files = {
            str(name): round(float(item["summary"]["percent_covered"]), 2)
            for name, item in data["files"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, {}
    return total, files


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
