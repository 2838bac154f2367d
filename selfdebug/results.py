"""How the diagnostics read a sandbox run: its tests are the sandbox's own `TestOutcome`s (the
sandbox runs them and parses their reports); a failure is read for the exception it names, the
frames of its traceback and its language."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from healing.sandbox import TestOutcome

FAILED = frozenset({"failed", "error"})


@dataclass
class Frame:
    path: str  # repository-relative when inside the tree, else absolute as reported
    line: int


def is_js(test_id: str) -> bool:
    return bool(re.search(r"\.(m?js|cjs)(::|$)", test_id))


@dataclass
class Failure:
    """One failed test of a sandbox run, as the analyser reads it."""

    test: TestOutcome
    language: str = ""  # python | javascript; from the test's file when not given

    def __post_init__(self) -> None:
        if not self.language:
            self.language = "javascript" if is_js(self.test.nodeid) else "python"

    @property
    def nodeid(self) -> str:
        return self.test.nodeid

    @property
    def outcome(self) -> str:
        return self.test.outcome

    @property
    def message(self) -> str:
        return self.test.message

    @property
    def details(self) -> str:
        return self.test.traceback

    @property
    def failed(self) -> bool:
        return self.test.outcome in FAILED

    @property
    def exception_type(self) -> str:
        match = re.match(
            r"\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b", self.message
        )
        return match.group(1).rsplit(".", 1)[-1] if match else ""

    @cached_property
    def frames(self) -> list[Frame]:
        text = self.test.traceback
        return js_frames(text) if self.language == "javascript" else python_frames(text)

    def source_frame(self) -> Frame | None:
        """The innermost frame in the repository, preferring code over tests."""
        inside = [f for f in self.frames if not f.path.startswith("/")]
        code = [f for f in inside if not _is_test_path(f.path)]
        if code:
            return code[-1]
        return inside[-1] if inside else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.test),
            "language": self.language,
            "exception_type": self.exception_type,
            "frames": [asdict(f) for f in self.frames],
        }


def at(path: str, line: int, language: str = "python") -> str:
    """A traceback line naming one place (for a failure that did not come from a test run: a
    static finding)."""
    if language == "javascript":
        return f"    at {path}:{line}:1\n"
    return f'  File "{path}", line {line}\n'


@dataclass
class RunResult:
    backend: str
    cases: list[TestOutcome] = field(default_factory=list)
    duration_ms: float = 0.0
    output_tail: str = ""
    coverage: dict[str, Any] | None = None  # {"percent": float, "files": {path: percent}}
    error: str = ""  # the tests could not be run at all (or not all of them)

    @property
    def failures(self) -> list[Failure]:
        return [Failure(c) for c in self.cases if c.outcome in FAILED]

    def totals(self) -> dict[str, int]:
        counts = {"total": len(self.cases), "passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for case in self.cases:
            counts[case.outcome] = counts.get(case.outcome, 0) + 1
        return counts


def _is_test_path(path: str) -> bool:
    name = Path(path).name
    return (
        name.startswith("test_")
        or name.endswith(("_test.py", ".test.js", ".spec.js", ".test.mjs"))
        or "/tests/" in f"/{path}"
        or name == "conftest.py"
    )


_PY_FRAME = re.compile(
    r'^(?:E?\s*File "(?P<a>[^"]+)", line (?P<b>\d+)|(?P<c>[^\s:][^:\n]*\.py):(?P<d>\d+):)', re.M
)
# The sandbox reports paths inside its tree relative to it; others stay absolute.
_JS_FRAME = re.compile(
    r"(?:^|[\s(])(?:file://)?(?P<p>[^\s():]+\.(?:m?js|cjs|ts)):(?P<l>\d+)(?::\d+)?\)?", re.M
)
_PY_EXC_LINE = re.compile(r"^E\s+(?P<m>[A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", re.M)
_JS_CAUSE = re.compile(r"(?:cause: )?(?P<t>[A-Z]\w*Error)(?: \[[^\]]*\])*: (?P<m>.*)")
_JS_LOAD_ERROR = re.compile(r"^(?P<t>\w*Error)(?: \[[^\]]*\])?: (?P<m>.+)$", re.M)


def python_frames(text: str) -> list[Frame]:
    return [
        Frame((m.group("a") or m.group("c")).strip(), int(m.group("b") or m.group("d")))
        for m in _PY_FRAME.finditer(text)
    ]


def js_frames(text: str) -> list[Frame]:
    frames = []
    for m in _JS_FRAME.finditer(text):
        if m.group("p").startswith("node:") or "/node_modules/" in m.group("p"):
            continue
        frames.append(Frame(m.group("p"), int(m.group("l"))))
    # node prints the innermost frame first; keep the Python order (outermost first).
    return list(reversed(frames))


def read_pytest(test: TestOutcome) -> TestOutcome:
    """A pytest test under its pytest id, its message the exception line where it can be told."""
    message = test.message
    if test.traceback and message == test.traceback[: len(message)]:
        message = ""  # the report had no message attribute: the sandbox fell back to the text
    if test.outcome in FAILED:
        found = _PY_EXC_LINE.findall(test.traceback)
        if found and (not message or message == "collection failure" or ":" not in message):
            message = found[-1].strip()
        elif not message and test.traceback:
            message = test.traceback.strip().splitlines()[-1]
        if message.startswith("assert "):
            message = f"AssertionError: {message}"  # pytest's rewritten asserts drop the type
    return replace(test, nodeid=test.test_id or test.nodeid, message=message.strip())


def read_node(test: TestOutcome, file: str) -> TestOutcome:
    """A `node --test` test of `file` (its report does not say which file), as `file::name`;
    a file that failed to load is reported as one test named after the file."""
    outcome = "failed" if test.outcome in FAILED else test.outcome
    message = test.message
    if outcome == "failed":
        causes = [m for m in _JS_CAUSE.finditer(test.traceback) if m.group("t") != "Error"]
        if causes:
            message = f"{causes[0].group('t')}: {causes[0].group('m').strip()}"
    nodeid = file if test.name == file else f"{file}::{test.name}"
    return replace(test, nodeid=nodeid, outcome=outcome, message=message, test_id=nodeid)


def node_load_failure(output: str) -> str:
    """The message of a test file that failed to load (node prints it, not to the report)."""
    m = _JS_LOAD_ERROR.search(output)
    if m:
        return f"{m.group('t')}: {m.group('m').strip()}"
    return (output.strip().splitlines() or [""])[-1]
