"""Per-test results and the JUnit XML they come from (pytest's and node's reporters)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own runner's output, not untrusted input
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FAILED = frozenset({"failed", "error"})


@dataclass
class Frame:
    path: str  # repository-relative when inside the tree, else as reported
    line: int


@dataclass
class CaseResult:
    nodeid: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""  # "ExceptionType: text" where it can be told
    details: str = ""  # the traceback text
    duration_ms: float = 0.0
    language: str = "python"
    frames: list[Frame] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED

    @property
    def exception_type(self) -> str:
        match = re.match(
            r"\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b", self.message
        )
        return match.group(1).rsplit(".", 1)[-1] if match else ""

    def source_frame(self) -> Frame | None:
        """The innermost frame in the repository, preferring code over tests."""
        inside = [f for f in self.frames if not f.path.startswith("/")]
        code = [f for f in inside if not _is_test_path(f.path)]
        if code:
            return code[-1]
        return inside[-1] if inside else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exception_type"] = self.exception_type
        return data


@dataclass
class RunResult:
    backend: str
    cases: list[CaseResult] = field(default_factory=list)
    duration_ms: float = 0.0
    output_tail: str = ""
    coverage: dict[str, Any] | None = None  # {"percent": float, "files": {path: percent}}
    error: str = ""  # the runner could not run the tests at all

    @property
    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if c.failed]

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
_JS_FRAME = re.compile(r"\(?(?:file://)?(?P<p>/[^\s():]+\.(?:m?js|cjs|ts)):(?P<l>\d+)(?::\d+)?\)?")
_PY_EXC_LINE = re.compile(r"^E\s+(?P<m>[A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", re.M)
_JS_CAUSE = re.compile(r"(?:cause: )?(?P<t>[A-Z]\w*Error)(?: \[[^\]]*\])*: (?P<m>.*)")


def relativize(path: str, root: Path | None) -> str:
    if root is None:
        return path
    p = Path(path)
    if not p.is_absolute():
        return path
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def python_frames(text: str, root: Path | None) -> list[Frame]:
    frames = []
    for m in _PY_FRAME.finditer(text):
        path = m.group("a") or m.group("c")
        line = int(m.group("b") or m.group("d"))
        frames.append(Frame(relativize(path.strip(), root), line))
    return frames


def js_frames(text: str, root: Path | None) -> list[Frame]:
    frames = []
    for m in _JS_FRAME.finditer(text):
        if "node:" in m.group("p") or "/node_modules/" in m.group("p"):
            continue
        frames.append(Frame(relativize(m.group("p"), root), int(m.group("l"))))
    # node prints the innermost frame first; keep the Python order (outermost first).
    return list(reversed(frames))


def parse_pytest_junit(xml_text: str, root: Path | None) -> list[CaseResult]:
    """pytest's JUnit XML (junit_family=xunit1, which carries file and line)."""
    cases = []
    tree = ET.fromstring(xml_text)  # noqa: S314
    for tc in tree.iter("testcase"):
        file = tc.get("file") or ""
        classname = tc.get("classname") or ""
        name = tc.get("name") or ""
        nodeid = _pytest_nodeid(file, classname, name)
        outcome, message, details = "passed", "", ""
        if not classname and file:
            nodeid = file  # a collection error: the whole module failed to load
        for child in tc:
            if child.tag in {"failure", "error"}:
                outcome = "failed" if child.tag == "failure" else "error"
                message = child.get("message") or ""
                details = child.text or ""
                break
            if child.tag == "skipped":
                outcome, message = "skipped", child.get("message") or ""
        if outcome in FAILED:
            found = _PY_EXC_LINE.findall(details)
            if found and (not message or message == "collection failure" or ":" not in message):
                message = found[-1].strip()
            elif not message and details:
                message = details.strip().splitlines()[-1]
            if message.startswith("assert "):
                message = f"AssertionError: {message}"  # pytest's rewritten asserts drop the type
        cases.append(
            CaseResult(
                nodeid=nodeid,
                outcome=outcome,
                message=message.strip(),
                details=details,
                duration_ms=float(tc.get("time") or 0) * 1000,
                language="python",
                frames=python_frames(details, root) if outcome in FAILED else [],
            )
        )
    return cases


def _pytest_nodeid(file: str, classname: str, name: str) -> str:
    if not file:
        # A collection error: pytest names the module in `name`, e.g. "tests.test_x".
        return name.replace(".", "/") + ".py" if name and "/" not in name else name
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    klass = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    parts = [file, *(klass.split(".") if klass else []), name]
    return "::".join(p for p in parts if p)


_JS_LOAD_ERROR = re.compile(r"^(?P<t>\w*Error)(?: \[[^\]]*\])?: (?P<m>.+)$", re.M)


def node_load_failure(stderr: str, root: Path | None) -> tuple[str, list[Frame]]:
    """The message and frames of a test file that failed to load (node prints them to stderr)."""
    m = _JS_LOAD_ERROR.search(stderr)
    message = (
        f"{m.group('t')}: {m.group('m').strip()}"
        if m
        else (stderr.strip().splitlines() or [""])[-1]
    )
    return message, js_frames(stderr, root)


def parse_node_junit(xml_text: str, test_file: str, root: Path | None) -> list[CaseResult]:
    """node --test's JUnit reporter, run once per test file (it does not say which file)."""
    cases = []
    tree = ET.fromstring(xml_text)  # noqa: S314
    for tc in tree.iter("testcase"):
        if any(child.tag == "testcase" for child in tc):
            continue  # a describe() block; its tests are listed on their own
        name = tc.get("name") or ""
        outcome, message, details = "passed", "", ""
        for child in tc:
            if child.tag in {"failure", "error"}:
                outcome = "failed"
                details = (child.text or "").strip()
                message = child.get("message") or ""
                causes = [m for m in _JS_CAUSE.finditer(details) if m.group("t") != "Error"]
                if causes:
                    message = f"{causes[0].group('t')}: {causes[0].group('m').strip()}"
                break
            if child.tag == "skipped":
                outcome = "skipped"
        cases.append(
            CaseResult(
                nodeid=f"{test_file}::{name}",
                outcome=outcome,
                message=message,
                details=details,
                duration_ms=float(tc.get("time") or 0) * 1000,
                language="javascript",
                frames=js_frames(details, root) if outcome in FAILED else [],
            )
        )
    return cases
