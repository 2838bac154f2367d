"""Per-test results (JUnit XML from pytest, node --test and phpunit) and naming the limit."""

from __future__ import annotations

import errno
import json
import os
import stat
import xml.etree.ElementTree as ET  # noqa: S405 - read through read_untrusted, size-capped
from pathlib import Path

from . import TestOutcome

MAX_REPORT_BYTES = 20 * 1024 * 1024


MAX_TRACEBACK_CHARS = 64 * 1024


class UntrustedFile(Exception):
    """A file the tests could write is not a plain, bounded file: a finding against the patch."""


_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


def read_untrusted(root: Path, rel: str, limit: int = MAX_REPORT_BYTES) -> bytes | None:
    """The content of `root/rel`, a path the sandboxed tests could write, or None if absent.

    Every component is opened without following a symbolic link (a link planted anywhere on
    the way is refused, never followed to a host file), without blocking (a FIFO cannot hang
    the worker), and the file must be a regular one, with no other hard link, of at most
    `limit` bytes. Anything else raises UntrustedFile with the reason."""
    parts = [p for p in Path(rel).parts if p not in {"", "."}]
    if not parts or ".." in parts or Path(rel).is_absolute():
        raise UntrustedFile(f"{rel}: not a path inside the run's directory")
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UntrustedFile(f"{root.name}: {_why(exc)}") from None
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = _NOFOLLOW if last else _NOFOLLOW | os.O_DIRECTORY
            try:
                child = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise UntrustedFile(f"{'/'.join(parts[: i + 1])}: {_why(exc)}") from None
            os.close(fd)
            fd = child
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedFile(f"{rel}: not a regular file (a FIFO, device or directory)")
        if info.st_nlink != 1:
            raise UntrustedFile(f"{rel}: a hard link to another file")
        if info.st_size > limit:
            raise UntrustedFile(f"{rel}: {info.st_size} bytes, more than the {limit} allowed")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UntrustedFile(f"{rel}: grew past the {limit} bytes allowed while read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _why(exc: OSError) -> str:
    if exc.errno in {errno.ELOOP, errno.EMLINK}:
        return "a symbolic link"
    if exc.errno == errno.ENOTDIR:
        return "not a directory (a symbolic link or a file in its place)"
    return exc.strerror or str(exc)


def parse_junit(path: Path, root: Path | None = None) -> list[TestOutcome]:
    """Per-test results from a JUnit XML report the tests could have tampered with: read with
    read_untrusted below `root` (the scratch root; raises UntrustedFile); absent or
    unparsable, no result."""
    root = root or path.parent
    data = read_untrusted(root, str(path.relative_to(root)))
    if data is None:
        return []
    try:
        document = ET.fromstring(data)  # noqa: S314 - bounded bytes; expat refuses entity bombs
    except ET.ParseError:
        return []
    outcomes: list[TestOutcome] = []
    for case in document.iter("testcase"):
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
    """coverage.py's JSON report: (percent of the whole run, percent per file). The tests ran in
    the directory that holds it, so it is read like any report they could have tampered with
    (raises UntrustedFile: the caller records it as a finding, as for a JUnit report)."""
    raw = read_untrusted(path.parent, path.name, MAX_COVERAGE_BYTES)
    if raw is None:
        return None, {}
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
